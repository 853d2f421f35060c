"""The one number formatter: every interface (CLI tables, report, docs) renders numbers through here.

Rules: three significant figures by default; thousands separators below 10,000; SI prefixes
(12.3k, 4.56M, G, T, P) above, never an exponent glued to a prefix ("1.54e+03T"); a value that rounds
to zero at this precision shows its first significant digits instead of "0"; None and
non-finite values show as "-".
"""
from __future__ import annotations

import math

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _finite(x) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sig(x: float, digits: int = 3) -> str:
    """`digits` significant figures, plain notation (no exponent) for |x| in [1e-6, 1e18)."""
    v = _finite(x)
    if v is None:
        return "-"
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    if abs(v) >= 1e18:
        return f"{v:.{digits - 1}e}"
    s = f"{round(v, decimals):,.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def num(x, unit: str = "", digits: int = 3) -> str:
    """A quantity for a person: 7,480 / 12.3k / 4.56M / 0.0123; with a unit after a space."""
    v = _finite(x)
    if v is None:
        return "-"
    av = abs(v)
    if av >= 1e4:
        for div, p in _PREFIXES:
            if av >= div:
                s = sig(v / div, digits) + p
                break
        if av >= 1e18:
            s = f"{v / 1e15:,.0f}P"
    elif av >= 1:
        s = f"{v:,.0f}" if av >= 10 ** (digits - 1) else sig(v, digits)
    else:
        s = sig(v, digits)
    return f"{s} {unit}" if unit else s


def pct(x, digits: int = 0, signed: bool = False) -> str:
    """A fraction as a percentage: 0.123 -> '12 %' (signed: '+12 %')."""
    v = _finite(x)
    if v is None:
        return "-"
    s = f"{v * 100:+.{digits}f}" if signed else f"{v * 100:.{digits}f}"
    return f"{s} %"


def money(x, per: str = "") -> str:
    """Dollars: $0.0123, $4.56, $1,234, $1.23 M; `per` appended ('/M tokens')."""
    v = _finite(x)
    if v is None:
        return "-"
    av, sign = abs(v), "-" if v < 0 else ""
    if av >= 1e6:
        s = "$" + num(av)
    elif av >= 100:
        s = f"${av:,.0f}"
    else:
        s = "$" + sig(av, 3)
    return sign + s + per


def seconds(x) -> str:
    """A duration: 850 us, 12.3 ms, 1.23 s, 4.5 min, 3.2 h."""
    v = _finite(x)
    if v is None:
        return "-"
    av = abs(v)
    if av < 1e-3:
        return f"{sig(v * 1e6)} us"
    if av < 1:
        return f"{sig(v * 1e3)} ms"
    if av < 120:
        return f"{sig(v)} s"
    if av < 7200:
        return f"{sig(v / 60)} min"
    return f"{sig(v / 3600)} h"


def gb(nbytes, binary: bool = False) -> str:
    """Bytes as GB (1e9) or GiB (2^30)."""
    v = _finite(nbytes)
    if v is None:
        return "-"
    return f"{sig(v / (2 ** 30 if binary else 1e9))} {'GiB' if binary else 'GB'}"


def ratio(x) -> str:
    """A multiple: x1.7, x12, x0.45."""
    v = _finite(x)
    return "-" if v is None else f"x{sig(v, 2) if abs(v) < 10 else f'{v:,.0f}'}"


def truncate(s: str, n: int = 60) -> str:
    """A user-supplied string echoed back: at most `n` characters, control characters removed."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(s))
    return clean if len(clean) <= n else clean[: n - 3] + "..."


__all__ = ["sig", "num", "pct", "money", "seconds", "gb", "ratio", "truncate"]
