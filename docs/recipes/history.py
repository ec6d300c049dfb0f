"""Years of daily bars and months of hourly bars, paged past the 1000-bar limit, into pandas."""

from datetime import timedelta

from capitalcom_sdk import Client

with Client.from_env() as client:
    now = client.general.server_time().datetime  # the server's clock, not this machine's
    # One call; the client splits it into requests of at most 1000 bars and joins them in
    # order, without gaps or duplicates. progress(done, total) reports the requests.
    daily = client.prices.history(
        "GOLD", "DAY", now - timedelta(days=3 * 365), now, drop_incomplete=True
    )
    print(f"{len(daily.prices)} daily bars since {daily.prices[0].snapshot_time_utc:%Y-%m-%d}")

    hourly = client.prices.history(
        "EURUSD",
        "HOUR",
        now - timedelta(days=120),
        progress=lambda done, total: print(f"  request {done}/{total}"),
    )

frame = hourly.to_pandas()  # needs the [data] extra: pandas
print(f"{len(frame)} hourly bars, columns: {', '.join(frame.columns[:5])}, ...")
frame.to_csv("eurusd_hourly.csv")
