"""IMAP and POP3 mailboxes as scan sources.

Safe by default:
- TLS everywhere: ``imaps://`` and ``pop3s://`` connect over TLS, ``imap://`` and ``pop3://`` upgrade with STARTTLS /
  STLS; certificates are verified. Plaintext is used only with ``plaintext=True`` (``--plaintext``).
- The password comes from an environment variable, a netrc file or a prompt on the terminal; never from the URL or
  the command line, and it is never part of a source id, a result or a message.
- IMAP folders are opened read-only and messages fetched with ``BODY.PEEK``, so nothing is marked seen. POP3 never
  deletes. The actions that change the mailbox (mark seen, move, delete) are off unless asked for, and run on a
  message only after its result is stored, and only on messages that are bounces.
"""

from __future__ import annotations

import contextlib
import getpass
import netrc
import os
import socket
import ssl
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import InputError
from ..options import PASSWORD_ENV
from .sources import Done, Item

_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
_BATCH = 50  # messages per IMAP FETCH


@dataclass(frozen=True, slots=True)
class Account:
    scheme: str
    user: str
    host: str
    port: int
    folder: str

    @property
    def name(self) -> str:
        """The account as it appears in source ids and messages: no password, ever."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}"


def parse_url(url: str) -> Account:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InputError(f"{_safe(url)}: not a valid mailbox URL ({e})") from None
    scheme = parts.scheme.lower()
    if parts.password is not None:
        raise InputError(f"{_safe(url)}: do not put the password in the URL; set {PASSWORD_ENV}, use a netrc file, "
                         "or type it when asked")
    if not parts.hostname:
        raise InputError(f"{url}: the URL names no host")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return Account(scheme, unquote(parts.username or ""), parts.hostname, port or _PORTS[scheme], folder)


def _safe(url: str) -> str:
    """The URL with any password replaced, for error messages."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, tail = rest.partition("@")
    return f"{head}://{userinfo.split(':', 1)[0]}:***@{tail}"


def password_for(account: Account, *, password_env: str | None, netrc_file: str | None) -> tuple[str, str]:
    """(user, password), from the environment, then netrc, then a prompt on the terminal."""
    env = password_env or PASSWORD_ENV
    user = account.user
    if os.environ.get(env):
        if not user:
            raise InputError(f"{account.name}: the URL names no user (write scheme://USER@host/...)")
        return user, os.environ[env]
    path = netrc_file or os.path.join(os.path.expanduser("~"), ".netrc")
    if os.path.exists(path):
        try:
            entry = netrc.netrc(path).authenticators(account.host)
        except (netrc.NetrcParseError, OSError) as e:
            raise InputError(f"{path}: cannot read the netrc file ({e})") from None
        if entry and entry[2] and (not user or entry[0] == user):
            return entry[0] or user, entry[2]
    elif netrc_file:
        raise InputError(f"{netrc_file}: no such netrc file")
    if not user:
        raise InputError(f"{account.name}: the URL names no user (write scheme://USER@host/...)")
    if sys.stdin.isatty():
        try:
            return user, getpass.getpass(f"Password for {user}@{account.host}: ")
        except (EOFError, KeyboardInterrupt):
            pass
    raise InputError(f"{account.name}: no password: set {env}, add the host to {path}, or run on a terminal to be "
                     "asked for it")


def _tls(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def _connect_error(account: Account, e: BaseException) -> InputError:
    if isinstance(e, ssl.SSLCertVerificationError):
        return InputError(f"{account.name}: the server's certificate cannot be verified ({e.verify_message}); "
                          "give its CA with --ca-file")
    if isinstance(e, ssl.SSLError):
        return InputError(f"{account.name}: TLS failed ({e.reason or e})")
    if isinstance(e, socket.timeout | TimeoutError):
        return InputError(f"{account.name}: the server did not answer in time")
    if isinstance(e, OSError):
        return InputError(f"{account.name}: cannot connect ({e.strerror or e})")
    return InputError(f"{account.name}: {e}")


class _Mailbox:
    """What IMAP and POP3 sources share: the account, the limits, the login, and one session opened on first use."""

    unit = "messages"  # progress is counted in messages: their sizes are not known before they are fetched

    def __init__(self, account: Account, keep: int, *, password_env: str | None = None,
                 netrc_file: str | None = None, plaintext: bool = False, ca_file: str | None = None,
                 timeout: float = 60.0) -> None:
        self.account = account
        self.label = account.name
        self.keep = keep
        self.plaintext = plaintext
        self.ca_file = ca_file
        self.timeout = timeout
        self._credentials = (password_env, netrc_file)
        self._client: Any = None

    def _login(self) -> tuple[str, str]:
        return password_for(self.account, password_env=self._credentials[0], netrc_file=self._credentials[1])

    def _open(self) -> Any:
        raise NotImplementedError

    def _count(self) -> int:
        raise NotImplementedError

    def _end(self, client: Any) -> None:
        raise NotImplementedError

    def total(self) -> int | None:
        self._open()
        return self._count()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # the session is over either way
                self._end(self._client)
            self._client = None


class Imap(_Mailbox):
    """One IMAP folder, read-only unless an action on processed mail is asked for."""

    def __init__(self, account: Account, keep: int, *, move_to: str | None = None, mark_seen: bool = False,
                 **options: Any) -> None:
        super().__init__(account, keep, **options)
        self.label = f"{account.name}/{account.folder}"
        self.move_to = move_to
        self.mark_seen = mark_seen
        self._uids: list[int] = []
        self._uidvalidity = 0

    def _open(self) -> Any:
        if self._client is not None:
            return self._client
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError, LoginError

        a = self.account
        user, password = self._login()
        try:
            ctx = _tls(self.ca_file)
            client = IMAPClient(a.host, a.port, ssl=a.scheme == "imaps", ssl_context=ctx, timeout=self.timeout)
            if a.scheme == "imap" and not self.plaintext:
                if not client.has_capability("STARTTLS"):
                    client.logout()
                    raise InputError(f"{a.name}: the server offers no STARTTLS; use imaps://, or --plaintext to "
                                     "send the password unencrypted")
                client.starttls(ctx)
        except InputError:
            raise
        except (OSError, IMAPClientError) as e:
            raise _connect_error(a, e) from None
        try:
            client.login(user, password)
        except LoginError:
            raise InputError(f"{a.name}: login failed for {user}") from None
        except (OSError, IMAPClientError) as e:
            raise _connect_error(a, e) from None
        readonly = not (self.move_to or self.mark_seen)
        try:
            info = client.select_folder(a.folder, readonly=readonly)
            self._uids = sorted(client.search("ALL"))
        except IMAPClientError as e:
            raise InputError(f"{self.label}: cannot open the folder ({_text(e)})") from None
        self._uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        self._client = client
        return client

    def _id(self, uid: int) -> str:
        return f"{self.account.name}/{self.account.folder};UIDVALIDITY={self._uidvalidity};UID={uid}"

    def _count(self) -> int:
        return len(self._uids)

    def items(self, done: Done) -> Iterator[Item]:
        from imapclient.exceptions import IMAPClientError

        client = self._open()
        pending = [uid for uid in self._uids if not done(self._id(uid))]
        for i in range(0, len(pending), _BATCH):
            batch = pending[i:i + _BATCH]
            try:
                got = client.fetch(batch, ["RFC822.SIZE", f"BODY.PEEK[]<0.{self.keep}>"])
            except (OSError, IMAPClientError) as e:
                raise _connect_error(self.account, e) from None
            for uid in batch:
                data = got.get(uid)
                body = _body(data) if data else None
                if body is None:
                    yield Item(self._id(uid), error="the server returned no body (deleted while scanning?)",
                               handle=uid)
                    continue
                size = int(data.get(b"RFC822.SIZE", len(body))) if data else len(body)
                yield Item(self._id(uid), body.replace(b"\r\n", b"\n"), max(size, len(body)), handle=uid)

    def after_stored(self, items: Sequence[tuple[Item, bool]]) -> None:
        uids = [item.handle for item, bounce in items if bounce and item.handle is not None and not item.error]
        if not uids or not (self.move_to or self.mark_seen):
            return
        client = self._open()
        if self.mark_seen:
            client.add_flags(uids, [b"\\Seen"])
        if self.move_to:
            if not client.folder_exists(self.move_to):
                client.create_folder(self.move_to)
            if client.has_capability("MOVE"):
                client.move(uids, self.move_to)
            else:
                client.copy(uids, self.move_to)
                client.delete_messages(uids)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)  # only these: never other messages flagged \Deleted

    def _end(self, client: Any) -> None:
        client.logout()


def _body(data: dict[bytes, Any]) -> bytes | None:
    for key, value in data.items():
        if key.startswith(b"BODY[") and isinstance(value, bytes):
            return value
    return None


def _text(e: BaseException) -> str:
    s = str(e)
    return s[2:-1] if s.startswith(("b'", 'b"')) else s


class Pop3(_Mailbox):
    """A POP3 mailbox. Messages are named by their UIDL; nothing is deleted unless asked for."""

    def __init__(self, account: Account, keep: int, *, delete: bool = False, **options: Any) -> None:
        super().__init__(account, keep, **options)
        self.delete = delete
        self._list: list[tuple[int, str]] = []

    def _open(self) -> Any:
        if self._client is not None:
            return self._client
        import poplib

        # poplib refuses lines over 2 KB; real mail has longer ones (RFC 5322's 998 is often ignored)
        poplib._MAXLINE = max(poplib._MAXLINE, 1 << 20)  # type: ignore[attr-defined]
        a = self.account
        user, password = self._login()
        try:
            ctx = _tls(self.ca_file)
            client: Any
            if a.scheme == "pop3s":
                client = poplib.POP3_SSL(a.host, a.port, context=ctx, timeout=self.timeout)
            else:
                client = poplib.POP3(a.host, a.port, timeout=self.timeout)
                if not self.plaintext:
                    try:
                        client.stls(ctx)
                    except poplib.error_proto:
                        client.quit()
                        raise InputError(f"{a.name}: the server offers no STLS; use pop3s://, or --plaintext to send "
                                         "the password unencrypted") from None
            client.user(user)
            client.pass_(password)
        except InputError:
            raise
        except poplib.error_proto:
            raise InputError(f"{a.name}: login failed for {user}") from None
        except OSError as e:
            raise _connect_error(a, e) from None
        try:
            _, lines, _ = client.uidl()
        except poplib.error_proto as e:
            raise InputError(f"{a.name}: the server cannot name its messages (UIDL: {_text(e)})") from None
        for line in lines:
            num, _, uid = line.decode("ascii", "replace").partition(" ")
            self._list.append((int(num), uid.strip()))
        self._client = client
        return client

    def _id(self, uid: str) -> str:
        return f"{self.account.name}/;UIDL={uid}"

    def _count(self) -> int:
        return len(self._list)

    def items(self, done: Done) -> Iterator[Item]:
        import poplib

        client = self._open()
        for num, uid in self._list:
            item_id = self._id(uid)
            if done(item_id):
                continue
            try:
                _, lines, octets = client.retr(num)
            except poplib.error_proto as e:
                yield Item(item_id, error=f"the server would not send it ({_text(e)})", handle=num)
                continue
            except OSError as e:
                raise _connect_error(self.account, e) from None
            raw = b"\n".join(lines) + b"\n"
            yield Item(item_id, raw[:self.keep], max(octets, len(raw)), handle=num)

    def after_stored(self, items: Sequence[tuple[Item, bool]]) -> None:
        if not self.delete:
            return
        client = self._open()
        for item, bounce in items:
            if bounce and item.handle is not None and not item.error:
                client.dele(item.handle)

    def _end(self, client: Any) -> None:
        client.quit()  # deletions, if any were asked for, take effect here


def open_remote(url: str, keep: int, **options: Any) -> Imap | Pop3:
    account = parse_url(url)
    if account.scheme.startswith("imap"):
        if options.get("delete"):
            raise InputError(f"{account.name}: --delete is for POP3; for IMAP use --move-to FOLDER")
        options.pop("delete", None)
        return Imap(account, keep, **options)
    if options.get("move_to") or options.get("mark_seen"):
        raise InputError(f"{account.name}: POP3 has no folders or flags; --move-to and --mark-seen are for IMAP")
    options.pop("move_to", None)
    options.pop("mark_seen", None)
    return Pop3(account, keep, **options)
