"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP server
(http.server in a thread), both on loopback, recording what arrives; either can be made slow
or failing."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from tests.live import free_port


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class _SmtpHandler:
    def __init__(self, owner: SmtpReceiver):
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.owner.delay:
            self.owner.receiving.set()
            await asyncio.sleep(self.owner.delay)
        if self.owner.refuse:
            return "451 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.owner.lock:
            self.owner.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpReceiver:
    """`with SmtpReceiver() as smtp:` … `smtp.url` for SMTP_URL, `smtp.mails` what arrived."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.refuse = False
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self.receiving = threading.Event()  # a slow receiver has a message in hand
        self.port = free_port()
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def by_message_id(self) -> dict[str, list[Mail]]:
        out: dict[str, list[Mail]] = {}
        with self.lock:
            for mail in self.mails:
                out.setdefault(mail.message_id, []).append(mail)
        return out


@dataclass
class Post:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """`with HttpReceiver() as http:` … `http.url("/hook")`, `http.posts` what arrived;
    `status` (and `answer`, the body) is what it answers, `delay` how long it takes."""

    status: int = 200
    answer: bytes = b'{"errcode": 0, "errmsg": "ok"}'
    delay: float = 0.0
    posts: list[Post] = field(default_factory=list)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.receiving = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if owner.delay:
                    owner.receiving.set()
                    time.sleep(owner.delay)
                if owner.status == 200:
                    parts = urlsplit(self.path)
                    with owner.lock:
                        owner.posts.append(
                            Post(parts.path, parse_qs(parts.query), dict(self.headers), body)
                        )
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.answer)))
                self.end_headers()
                self.wfile.write(owner.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
