"""The errors you will meet first, and what each one tells you to do."""

from capitalcom_sdk import (
    AuthenticationError,
    Client,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
)

# 1. Wrong password: the identifier and the API key's own password (set when the key was
# created), not the platform password. The SDK never logs or shows the password.
with Client.from_env(password="not-the-password") as client:
    try:
        client.general.ping()
    except AuthenticationError as exc:
        print(f"login refused: {exc.error_code} (HTTP {exc.status})")

with Client.from_env() as client:
    # 2. Bad input is refused before anything is sent; .field names the culprit.
    try:
        client.positions.open("GOLD", "BUY", -1)
    except RequestValidationError as exc:
        print(f"not sent ({exc.field}): {exc}")

    # 3. Epics are upper-case identifiers: "gold" is not found, "GOLD" is.
    try:
        client.markets.get("gold")
    except NotFoundError as exc:
        print(f"not found: {exc.error_code}")

    # 4. The server refused a value: error_code says which, value the limit it applies.
    market = client.markets.get("GOLD")
    bid = market.snapshot.bid
    assert bid is not None
    try:
        client.positions.open("GOLD", "BUY", 1, stop_level=bid * 10)  # a stop above the price
    except InvalidRequestError as exc:
        print(f"refused: {exc.error_code}, field {exc.field}, limit {exc.value}")

    # 5. Too many requests: the client keeps to the documented limits itself and retries a
    # 429 on safe requests; RateLimitError only reaches you once that budget is spent.
    try:
        client.general.ping()
    except RateLimitError as exc:
        print(f"slow down: {exc}")
    print("done")
