"""One networking behaviour for both clients: proxies, certificate checking, pools, timeouts.

``Client`` and ``AsyncClient`` take the same settings (:class:`NetworkSettings`) and resolve
them here, once, into the same decisions:

* the proxy for each URL: an explicit ``proxy=`` for every request; otherwise, unless a
  transport was given or ``trust_env=False``, ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY``
  with ``NO_PROXY`` exceptions (curl's rules, as httpx reads them);
* one ``ssl.SSLContext`` from ``verify=`` (True: certifi, or ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` with ``trust_env``; False: no checking; a CA file or directory path; or a
  ready context), used for direct and proxied requests and for TLS through a proxy tunnel;
* the pool limits and the ``httpx.Timeout`` (the async wire maps connect, read and pool).

The sync client sends with ``httpx.HTTPTransport``; the async one with
:class:`~capitalcom_sdk._aio.AiohttpTransport` (also through http/https proxies; other proxy
schemes go through httpx's own async transport). Both get their proxies as httpx *mounts*
built from the same map, so a URL is proxied by one client exactly when it is by the other.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.request import getproxies

import httpx

from capitalcom_sdk.errors import ConfigurationError

if TYPE_CHECKING:
    from capitalcom_sdk._aio import AiohttpTransport

__all__ = ["NetworkSettings", "Verify", "environment_proxies", "proxy_map", "ssl_context"]

Verify = ssl.SSLContext | str | os.PathLike[str] | bool
"""``verify=``: True (default CAs), False (no checking), a CA bundle file or directory, or a
ready ``ssl.SSLContext``."""


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """The networking arguments both clients take, with the same meaning."""

    timeout: httpx.Timeout
    limits: httpx.Limits
    proxy: str | None = None
    verify: Verify = True
    trust_env: bool = True
    custom_transport: bool = False  # a transport was given: environment proxies are not read


def ssl_context(verify: Verify, *, trust_env: bool = True) -> ssl.SSLContext:
    """The one ``SSLContext`` of a client (see the module docstring)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    try:
        if isinstance(verify, str | os.PathLike):
            path = os.fspath(verify)
            if os.path.isdir(path):
                return ssl.create_default_context(capath=path)
            return ssl.create_default_context(cafile=path)
        return httpx.create_ssl_context(verify=bool(verify), trust_env=trust_env)
    except (OSError, ssl.SSLError) as exc:  # a missing or unreadable CA file (or SSL_CERT_FILE)
        raise ConfigurationError(
            f"verify: cannot load the CA certificates ({type(exc).__name__}: {exc})"
        ) from None


def _is_ip(host: str) -> int:
    """4 or 6 for an IP address (CIDR suffix allowed), 0 otherwise."""
    try:
        return ipaddress.ip_address(host.split("/")[0]).version
    except ValueError:
        return 0


def environment_proxies() -> dict[str, str | None]:
    """The proxy environment as httpx mount patterns: proxy URL, or None for "direct".

    ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` (either case; a bare ``host:port`` means
    ``http://host:port``) and ``NO_PROXY``: ``*`` turns proxies off; ``example.com`` exempts it
    and its subdomains, ``.example.com`` only the subdomains; IP addresses and ``localhost``
    exactly; ``scheme://host`` as given.
    """
    info = getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if info.get(scheme):
            url = info[scheme]
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (item.strip() for item in info.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
        elif (version := _is_ip(host)) == 6:
            mounts[f"all://[{host}]"] = None
        elif version == 4 or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        else:
            mounts[f"all://*{host}"] = None
    return mounts


def proxy_map(settings: NetworkSettings) -> dict[str, str | None]:
    """Which URLs go through which proxy (mount pattern -> proxy URL, None: direct)."""
    if settings.proxy is not None:
        return {"all://": settings.proxy}
    if settings.trust_env and not settings.custom_transport:
        return environment_proxies()
    return {}


def sync_mounts(
    settings: NetworkSettings, context: ssl.SSLContext
) -> dict[str, httpx.BaseTransport | None]:
    """The sync client's proxy mounts (None: the client's own transport)."""
    return {
        pattern: None
        if url is None
        else httpx.HTTPTransport(
            proxy=httpx.Proxy(url), verify=context, limits=settings.limits, trust_env=False
        )
        for pattern, url in proxy_map(settings).items()
    }


def async_mounts(
    settings: NetworkSettings, context: ssl.SSLContext
) -> dict[str, httpx.AsyncBaseTransport | None]:
    """The async client's proxy mounts: aiohttp for http/https proxies, httpx otherwise."""
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for pattern, url in proxy_map(settings).items():
        if url is None:
            mounts[pattern] = None
        elif httpx.URL(url).scheme in ("http", "https"):
            mounts[pattern] = _aiohttp(settings, context, url)
        else:  # e.g. socks5:// (httpx needs its socks extra for it)
            mounts[pattern] = httpx.AsyncHTTPTransport(
                proxy=httpx.Proxy(url), verify=context, limits=settings.limits, trust_env=False
            )
    return mounts


def _aiohttp(settings: NetworkSettings, context: ssl.SSLContext, proxy: str) -> AiohttpTransport:
    from capitalcom_sdk._aio import AiohttpTransport

    return AiohttpTransport(settings.limits, context, proxy=proxy)
