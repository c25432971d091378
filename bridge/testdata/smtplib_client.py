"""Send one message with Python's smtplib, as the bridge's interop tests ask.

Usage: smtplib_client.py '<json spec>'. The spec names host, port, and
optionally starttls, cafile, server_name, auth ([mechanism, user, password];
mechanism "" lets smtplib choose), from, to, msg (text; sent as UTF-8 bytes),
mail_options. Prints one JSON object: {"refused": {rcpt: [code, text]}} or
{"error": [code, text]} and exits 0 either way; a crash exits non-zero.
"""
import json
import smtplib
import ssl
import sys


def main():
    spec = json.loads(sys.argv[1])
    result = {}
    try:
        with smtplib.SMTP(spec["host"], spec["port"], local_hostname="python.test", timeout=20) as s:
            s.ehlo()
            if spec.get("starttls"):
                ctx = ssl.create_default_context(cafile=spec["cafile"])
                s._host = spec.get("server_name") or s._host  # the name the certificate must carry
                s.starttls(context=ctx)
                s.ehlo()
            if spec.get("auth"):
                mech, user, password = spec["auth"]
                if mech:
                    s.user, s.password = user, password
                    auth = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login, "CRAM-MD5": s.auth_cram_md5}[mech]
                    s.auth(mech, auth, initial_response_ok=(mech == "PLAIN"))
                else:
                    s.login(user, password)
            refused = s.sendmail(spec["from"], spec["to"], spec["msg"].encode("utf-8"),
                                 mail_options=spec.get("mail_options", []))
            result["refused"] = {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in refused.items()}
    except smtplib.SMTPRecipientsRefused as e:
        result["refused"] = {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in e.recipients.items()}
        result["error"] = [550, "all recipients refused"]
    except smtplib.SMTPResponseException as e:
        msg = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        result["error"] = [e.smtp_code, msg]
    print(json.dumps(result))


main()
