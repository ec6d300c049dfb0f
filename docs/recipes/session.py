"""Log in once, keep the session alive, and carry it over to the next run."""

from capitalcom_sdk import Client

# Credentials from CAPITAL_API_KEY, CAPITAL_IDENTIFIER, CAPITAL_PASSWORD (and CAPITAL_BASE_URL
# for the simulator). Nothing is sent yet: the client logs in on its first call.
with Client.from_env() as client:
    details = client.session.details()  # logs in, keeps CST / X-SECURITY-TOKEN
    print(f"logged in: client {details.client_id}, account {details.account_id}")

    # A session lapses after 10 minutes without a call; a ping keeps it alive. Should it
    # lapse anyway, the next call logs in again by itself (once, shared by every thread).
    print("ping:", client.general.ping().status)

    # Several accounts? List them and switch; the tokens follow.
    accounts = client.accounts.list().accounts
    print("accounts:", ", ".join(f"{a.account_id} ({a.currency})" for a in accounts))

    saved = client.export_session()  # tokens + active account; store them safely

# Another client (or process, after pickling or JSON-encoding the three fields) picks the
# session up without logging in again; the login budget (1 per second) is spared.
with Client.from_env() as client:
    if saved is not None:
        client.resume_session(saved)
    print("resumed:", client.session.details().account_id == details.account_id)
