"""Decimal fields of a text table parsed straight from the file's bytes, with numpy, correctly rounded.

Converting millions of decimal strings one by one (``float``, ``np.array(strings)``, ``loadtxt``)
costs about 0.4 us a value whatever the route, which is most of the time of loading a big
trajectories file. Here the common shape of a field, ``[-]digits[.digits]``, is converted a batch
at a time:

* each field's last 24 bytes are gathered as three 64-bit words, right-aligned on the field's end;
* the decimal point is taken out by shifting the bytes before it one place right, and the bytes
  before the field are replaced by '0', so the words hold the field's digits, zero-padded;
* each word becomes an integer by the SWAR method (eight digits in three multiplications);
* the mantissa ``m`` (< 2**64, exact) over ``10**k`` (exact in x87 extended precision for
  ``k <= 27``, and in IEEE quad) is one correctly rounded long double division, rounded once more
  to double.
  That second rounding differs from direct rounding only when the extended result lies exactly
  half-way between two doubles; those values (about 1 in 2,000) are re-parsed by ``float``.

Where long double is not such a format, only Clinger's exact case is taken (``m < 2**53`` and
``k <= 22``: one division of exact doubles). Every field of another shape (an exponent, '+', 'inf',
'nan', more than 19 significant digits, an empty field...) is parsed by Python's ``float``/``int``
on its text, so the result is always exactly what ``float(field)`` gives; a field that Python
refuses too is returned in ``bad``.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 15  # fields per batch: keeps the batch's temporaries in the CPU cache
WIDTH = 24  # bytes converted on the fast path: three 64-bit words
_ZERO8 = np.uint64(0x3030303030303030)
_ZERO1 = np.uint64(0x30)
_POINT8 = np.uint64(0x2E2E2E2E2E2E2E2E)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_SIX8 = np.uint64(0x0606060606060606)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_THREE8 = np.uint64(0x3333333333333333)
_ALL_ONES = np.uint64(2 ** 64 - 1)
_ONE = np.uint64(1)
_EIGHT = np.uint64(8)
_WORD_COLUMN = np.array([0, 8, 16])  # first column of each word
# long double formats whose division is IEEE correctly rounded: x87 extended, IEEE quad (not the
# double-double of POWER, whose 106 bits are not)
_EXTENDED = np.finfo(np.longdouble).nmant in (63, 112)
# x87 80-bit long double: the 64-bit significand is the first word, so the bits a rounding to
# double drops are readable directly
_X87 = (np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize in (12, 16)
        and np.little_endian)


def _pow10_long() -> np.ndarray:
    powers = np.ones(WIDTH + 1, dtype=np.longdouble)
    for k in range(1, WIDTH + 1):  # products of exact values that fit 64 bits stay exact
        powers[k] = powers[k - 1] * np.longdouble(10)
    return powers


_POW10_LONG = _pow10_long() if _EXTENDED else None
_POW10_DOUBLE = np.array([float(10 ** k) for k in range(WIDTH + 1)])  # exact up to 1e22


def _words_to_int(words: np.ndarray) -> np.ndarray:
    """Eight ASCII digits per little-endian word (first digit in the lowest byte) to their integer."""
    w = ((words & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)
    w = ((w & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    return ((w & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)


def strip_spaces(data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 trailing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Field bounds without leading (and trailing) spaces; other whitespace is left to the slow path."""
    last = len(data) - 1
    while True:
        space = (data[np.minimum(starts, last)] == 32) & (starts < ends)
        if not space.any():
            break
        starts = starts + space
    while trailing:
        space = (data[np.maximum(ends - 1, 0)] == 32) & (starts < ends)
        if not space.any():
            break
        ends = ends - space
    return starts, ends


def low_bytes(count: np.ndarray) -> np.ndarray:
    """Words whose ``count`` lowest bytes are 0xFF (none for count <= 0, all for count >= 8)."""
    return _ALL_ONES >> (64 - 8 * np.minimum(count, 8)).astype(np.uint64)  # numpy shifts by >= 64 give 0


def _digits(words: np.ndarray, starts: np.ndarray, ends: np.ndarray,
            allow_point: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mantissa, digits after the point and a fast-path flag of fields ``[starts, ends)`` (sign excluded).

    Works on three 64-bit words a field, all bytes of a word at once (column j of the 24 is byte
    j % 8 of word j // 8), so no per-byte array and no reduction along a row is needed.
    """
    length = ends - starts
    ok = (length > 0) & (length <= WIDTH) & (ends >= WIDTH)
    first = np.where(ok, ends - WIDTH, 0)
    w = np.empty((3, len(starts)), dtype=np.uint64)
    for i in range(3):
        w[i] = words[first + 8 * i]
    outside = low_bytes(WIDTH - length - _WORD_COLUMN[:, None])
    w = (w & ~outside) | (_ZERO8 & outside)
    decimals = np.zeros(len(starts), dtype=np.int64)
    if allow_point:
        v = w ^ _POINT8  # a '.' byte becomes 0; then the high bit is set in exactly the zero bytes
        zero = ~(((v & _LOW7) + _LOW7) | v | _LOW7)
        found = zero != 0
        # bytes up to the first point: within its word (lowest bit << 1) - 1, all of the words before
        # it; (lowest << 1) - 1 is also all ones in a word without a point
        left = ((zero & (~zero + _ONE)) << _ONE) - _ONE
        left[0] *= found[0] | found[1] | found[2]
        left[1] *= ~found[0] & (found[1] | found[2])
        left[2] *= ~(found[0] | found[1]) & found[2]
        # take the point out: the bytes left of it move one column right; a second point stays and fails
        moved = w << _EIGHT
        moved[1:] |= w[:-1] >> np.uint64(56)
        w = (w & ~left) | (moved & left)
        w[0] |= left[0] & _ZERO1  # the column freed at the far left is a zero
        point_bytes = (np.bitwise_count(left[0]) + np.bitwise_count(left[1]) + np.bitwise_count(left[2])) >> 3
        has_point = point_bytes > 0
        decimals = np.where(has_point, WIDTH - point_bytes, 0).astype(np.int64)
        length = length - has_point
    digit = ((w & _HIGH_NIBBLES) | (((w + _SIX8) & _HIGH_NIBBLES) >> np.uint64(4))) == _THREE8
    ok &= digit[0] & digit[1] & digit[2] & (length > 0)
    parts = _words_to_int(w)
    # at most 19 significant digits fit 64 bits exactly: refuse the top word beyond 1844
    ok &= parts[0] < 1844
    mantissa = parts[0] * np.uint64(10 ** 16) + parts[1] * np.uint64(10 ** 8) + parts[2]
    return mantissa, decimals, ok


def _to_double(mantissa: np.ndarray, decimals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mantissa / 10**decimals`` correctly rounded, and a flag of the values that could not be."""
    if _POW10_LONG is not None:
        quotient = mantissa.astype(np.longdouble) / _POW10_LONG[decimals]
        values = quotient.astype(np.float64)
        if _X87:
            low = quotient.view(np.uint64).reshape(len(quotient), -1)[:, 0] & np.uint64(0x7FF)
            return values, low == np.uint64(0x400)
        # a wider long double: a tie of the second rounding is an exact half gap between doubles
        below = np.nextafter(values, -np.inf).astype(np.longdouble)
        above = np.nextafter(values, np.inf).astype(np.longdouble)
        exact = values.astype(np.longdouble)
        return values, (quotient == (exact + below) / 2) | (quotient == (exact + above) / 2)
    exact_case = (mantissa < np.uint64(2 ** 53)) & (decimals <= 22)
    return mantissa.astype(np.float64) / _POW10_DOUBLE[decimals], ~exact_case


def byte_words(data: np.ndarray) -> np.ndarray:
    """Every 8-byte window of ``data`` as a little-endian word (word i = bytes i..i+7), no copy."""
    return np.ndarray(shape=(max(len(data) - 7, 0),), dtype="<u8", buffer=data, strides=(1,))


def _parse(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, integer: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    starts = np.asarray(starts, np.int64).ravel()
    ends = np.asarray(ends, np.int64).ravel()
    n = len(starts)
    values = np.empty(n, dtype=np.int64 if integer else np.float64)
    slow = np.zeros(n, dtype=bool)
    words = byte_words(data)
    last = len(data) - 1
    for lo in range(0, n, CHUNK):
        # a trailing space fails the digit check and goes to the slow path, rare enough not to look for;
        # a CR (a file with CRLF line ends) is not rare
        s, e = strip_spaces(data, starts[lo:lo + CHUNK], ends[lo:lo + CHUNK], trailing=False)
        e = e - ((data[np.maximum(e - 1, 0)] == 13) & (s < e))
        negative = (data[np.minimum(s, last)] == 45) & (s < e)
        mantissa, decimals, ok = _digits(words, s + negative, e, allow_point=not integer)
        if integer:
            limit = np.where(negative, np.uint64(2 ** 63), np.uint64(2 ** 63 - 1))
            ok &= mantissa <= limit
            magnitude = mantissa.view(np.int64)  # 2**63 wraps to -2**63, which is its negation too
            values[lo:lo + CHUNK] = np.where(negative, -magnitude, magnitude)
        else:
            result, inexact = _to_double(mantissa, decimals)
            ok &= ~inexact
            values[lo:lo + CHUNK] = np.negative(result, out=result, where=negative)
        slow[lo:lo + CHUNK] = ~ok
    bad = []
    convert = int if integer else float
    for i in np.flatnonzero(slow).tolist():  # rare shapes: Python decides, as the text reader would
        text = data[starts[i]:ends[i]].tobytes().decode("utf-8", errors="replace")
        try:
            value = convert(text)
            if integer and not -2 ** 63 <= value < 2 ** 63:
                raise OverflowError(text)
            values[i] = value
        except (ValueError, OverflowError):
            bad.append(i)
    return values, np.array(bad, dtype=np.int64)


def parse_float_fields(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``float`` of each field ``data[starts[i]:ends[i]]``, bit for bit, and the indices Python refuses.

    ``data`` is a file's bytes as uint8; spaces around a field are ignored, like ``float`` does.
    """
    return _parse(data, starts, ends, integer=False)


def parse_int_fields(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``int`` of each field as int64, and the indices of fields that are not a 64-bit integer."""
    return _parse(data, starts, ends, integer=True)
