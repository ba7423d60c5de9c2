"""SSRF defense for webhook URLs: the check to run when a customer registers one.

    url = hookline.check_url(customer_url)          # normalised, or raises
    url = hookline.check_url(u, resolve=True)       # and every DNS answer checked

A thin layer over the C core (hookline/ssrf.h): defaults and argument shapes
here, every rule in C. Rejections raise :class:`hookline.URLRejected` (a
``ValueError``) whose ``.code`` names the reason and whose message can be
shown to the customer.
"""

from __future__ import annotations

from typing import Iterable, Optional, Union

from . import _hookline

URLRejected = _hookline.URLRejected


def check_url(
    url: Union[str, bytes],
    *,
    allow_http: bool = False,
    allow_cidrs: Iterable[str] = (),
    allow_ports: Optional[Iterable[int]] = None,
    allow_hosts: Iterable[str] = (),
    deny_names: Iterable[str] = (),
    resolve: bool = False,
) -> str:
    """Return the normalised URL, or raise URLRejected.

    url          the URL the customer gave (str or bytes)
    allow_http   accept http:// (and port 80) besides https://
    allow_cidrs  internal ranges the operator allows ("10.20.0.0/16", "127.0.0.1/32")
    allow_ports  the complete list of allowed ports (default: 443, and 80 with http)
    allow_hosts  names trusted as they are ("hooks.corp.example", "*.corp.example")
    deny_names   extra names to refuse, same patterns
    resolve      also resolve the host (system resolver) and check every address;
                 a name whose answers mix public and private addresses is refused;
                 this BLOCKS on DNS (releasing the GIL): run it at registration
                 time, not on a hot path

    Returns the normalised URL (str). Raises :class:`URLRejected` (a
    ``ValueError``) whose ``.code`` names the reason: "url_malformed",
    "url_scheme_denied", "url_userinfo", "url_control_char",
    "url_port_denied", "url_name_denied", "address_denied",
    "resolve_failed", ...; its message can be shown to the customer.
    Raises ``TypeError`` when ``url`` is neither str nor bytes.
    """
    if isinstance(url, str):
        has_nul = "\0" in url
    elif isinstance(url, (bytes, bytearray)):
        has_nul = b"\0" in url
        url = bytes(url)
    else:
        raise TypeError("url must be str or bytes, not %s" % type(url).__name__)
    if has_nul:
        # C strings end at NUL: refuse here, so no layer can cut the URL short.
        exc = URLRejected("the URL contains a NUL character")
        exc.code = "url_control_char"
        raise exc
    return _hookline._check_url(
        url,
        bool(allow_http),
        None if allow_ports is None else [int(p) for p in allow_ports],
        list(allow_cidrs),
        list(allow_hosts),
        list(deny_names),
        bool(resolve),
    )
