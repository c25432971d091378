"""A real SMTP server for the interop tests: aiosmtpd on a loopback port.

Usage: aiosmtpd_server.py PORT OUTDIR [CERT KEY]. With CERT and KEY it offers
STARTTLS. Each message it accepts is written to OUTDIR/N.eml (the content as
received, dot-stuffing undone) with OUTDIR/N.json holding the envelope.
Prints "ready" once listening; stops after 60 seconds, or when stdin closes.
"""
import asyncio
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.outdir, str(self.n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": session.ssl is not None}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Message accepted for delivery"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    kwargs = {}
    if len(sys.argv) > 4:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        kwargs["tls_context"] = ctx
    c = Controller(Keep(outdir), hostname="127.0.0.1", port=port, server_hostname="aiosmtpd.test", **kwargs)
    c.start()
    print("ready", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(60)
    c.stop()


main()
