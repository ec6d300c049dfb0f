"""Stream live quotes and react to them: here, report every move of more than a threshold."""

from capitalcom_sdk import Client, Quote

THRESHOLD = 0.0001  # a relative move of 0.01%
WANTED = 10  # stop after this many quotes

with Client.from_env() as client, client.stream() as stream:
    stream.subscribe_quotes(["GOLD", "EURUSD"])  # returns once the server acknowledged
    last: dict[str, float] = {}
    seen = 0
    while seen < WANTED:
        event = stream.get(timeout=10.0)  # None when nothing arrived in time
        if not isinstance(event, Quote):
            continue
        seen += 1
        mid = (event.bid + event.offer) / 2
        before = last.get(event.epic)
        last[event.epic] = mid
        if before is None:
            print(f"{event.timestamp:%H:%M:%S} {event.epic} first quote {mid:.6g}")
        elif abs(mid - before) / before > THRESHOLD:
            # React here: this is where a strategy would act on the move.
            print(f"{event.timestamp:%H:%M:%S} {event.epic} moved {mid - before:+.5f}")
    print(f"{seen} quotes, {stream.stats.reconnects} reconnects")
