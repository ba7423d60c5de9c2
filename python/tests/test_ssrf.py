"""hookline.check_url against the shared SSRF corpus (tests/vectors/ssrf_urls.tsv),
the same rows the C and Lua tests run, plus the Python-side rules."""

import os
import re

import pytest

import hookline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "vectors", "ssrf_urls.tsv")


def unescape(field: str) -> bytes:
    """The corpus escapes: "\\\\" is a backslash, "\\xHH" the byte 0xHH."""
    out = bytearray()
    i = 0
    raw = field.encode("utf-8")
    while i < len(raw):
        if raw[i:i + 2] == b"\\\\":
            out += b"\\"
            i += 2
        elif raw[i:i + 2] == b"\\x" and re.fullmatch(rb"[0-9a-fA-F]{2}", raw[i + 2:i + 4]):
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def options(field: str) -> dict:
    if field == "-":
        return {}
    kw = {}
    for pair in field.split(";"):
        key, _, value = pair.partition("=")
        items = [v for v in value.split(",") if v]
        if key == "allow_http":
            kw["allow_http"] = value == "1"
        elif key == "allow_ports":
            kw["allow_ports"] = [int(p) for p in items]
        elif key in ("allow_cidrs", "allow_hosts", "deny_names"):
            kw[key] = items
        else:
            raise ValueError("unknown option %r in corpus" % key)
    return kw


def rows():
    with open(CORPUS, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            assert len(cols) == 6, "line %d has %d columns" % (number, len(cols))
            yield pytest.param(*cols[:5], id="line%d" % number)


ROWS = list(rows())


def test_corpus_is_large():
    assert len(ROWS) >= 100


@pytest.mark.parametrize("url,opts,verdict,code,normalized", ROWS)
def test_corpus(url, opts, verdict, code, normalized):
    raw = unescape(url)
    kw = options(opts)
    if verdict == "accept":
        assert hookline.check_url(raw, **kw) == normalized
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return
        assert hookline.check_url(text, **kw) == normalized
    else:
        with pytest.raises(hookline.URLRejected) as info:
            hookline.check_url(raw, **kw)
        assert info.value.code == code
        assert str(info.value)  # a message for the customer


def test_url_rejected_is_a_value_error_in_the_tree():
    assert issubclass(hookline.URLRejected, ValueError)
    assert issubclass(hookline.URLRejected, hookline.Error)


def test_nul_is_rejected_before_c():
    for url in ("https://example.com\0.evil/", b"https://example.com/\0"):
        with pytest.raises(hookline.URLRejected) as info:
            hookline.check_url(url)
        assert info.value.code == "url_control_char"


def test_bad_options_are_invalid_argument():
    with pytest.raises(hookline.InvalidArgument):
        hookline.check_url("https://example.com/", allow_cidrs=["10.0.0.0/99"])
    with pytest.raises(hookline.InvalidArgument):
        hookline.check_url("https://example.com/", allow_ports=[0])
    with pytest.raises(TypeError):
        hookline.check_url(42)


def test_resolve_checks_every_answer():
    # "localhost" is denied by name before any lookup; 127.0.0.1 as a literal
    # by address. A name that resolves (system resolver, /etc/hosts) to
    # loopback is denied at resolution even though its name looks harmless.
    with pytest.raises(hookline.URLRejected) as info:
        hookline.check_url("https://localhost/", resolve=True)
    assert info.value.code == "url_name_denied"
    with pytest.raises(hookline.URLRejected) as info:
        hookline.check_url("https://127.0.0.1/", resolve=True)
    assert info.value.code == "address_denied"
    assert hookline.check_url("https://127.0.0.1:8443/x", allow_cidrs=["127.0.0.1/32"],
                              allow_ports=[8443], resolve=True) == "https://127.0.0.1:8443/x"
