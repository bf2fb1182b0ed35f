"""kapturelike: visual localization on the kapture 1.1 format."""

__version__ = "0.1.0"
