#!/usr/bin/env python3
"""A real SMTP server on 127.0.0.1 for the email sink's tests (needs `pip install aiosmtpd`).

Prints `PORT <n>` once listening, then one JSON line per accepted message: envelope,
decoded subject/From/To, content type and decoded body, and whether the client logged in.
--rcpt-reply / --data-reply make it answer RCPT TO / DATA with a fixed reply instead
(e.g. "451 4.3.0 try again later", "550 5.1.1 no such user"). With --password it
offers AUTH (over plain text, for the test) and accepts only --username/--password.
--tls-cert/--tls-key (PEM) turn on TLS: STARTTLS, required before MAIL, or with
--implicit-tls TLS from the first byte (as on port 465). Runs until killed.
"""
import argparse
import asyncio
import email
import email.policy
import json
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Handler:
    def __init__(self, args):
        self.rcpt_reply = args.rcpt_reply
        self.data_reply = args.data_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "content_type": message.get_content_type(),
            "body": message.get_content(),
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
        }
        print(json.dumps(record), flush=True)
        return "250 2.0.0 accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rcpt-reply")
    parser.add_argument("--data-reply")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()

    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == args.username and auth_data.password.decode() == args.password
        # handled=False: aiosmtpd itself answers 535 to a failure.
        return AuthResult(success=ok, handled=False)

    def factory():
        options = {"hostname": "localhost"}  # skips a slow reverse DNS lookup
        if args.password:
            options.update(authenticator=authenticator, auth_require_tls=False, auth_required=True)
        if tls and not args.implicit_tls:
            options.update(tls_context=tls, require_starttls=True)
        return SMTP(Handler(args), **options)

    async def serve():
        wrap = tls if args.implicit_tls else None
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0, ssl=wrap)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
