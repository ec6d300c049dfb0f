"""A bracket order placed safely: stop and take profit attached, rejection and lost answers
handled, and the result checked against what the server holds."""

from capitalcom_sdk import Client, DealRejectedError, OrderOutcomeUnknown

EPIC = "GOLD"

with Client.from_env() as client:
    market = client.markets.get(EPIC)
    print(f"{EPIC}: bid {market.snapshot.bid}, offer {market.snapshot.offer}")

    deal_id = None
    try:
        # The stop and the take profit travel with the order: there is no moment in which the
        # position is open without them. The call waits for the deal confirmation.
        confirm = client.positions.open(EPIC, "BUY", 1, stop_distance=20, profit_distance=40)
        deal_id = confirm.opened_deal_ids[0]
        print(f"opened {deal_id} at {confirm.level}")
    except DealRejectedError as exc:
        # The server said no (market closed, insufficient funds, ...): nothing was opened.
        print(f"rejected: {exc.reason}")
    except OrderOutcomeUnknown as exc:
        # The request left but its answer was lost. It is never sent again automatically;
        # reconcile() looks for the deal it would have made.
        result = client.reconcile(exc)
        print(f"outcome unknown, reconcile says {result.status}")
        if result.found:
            deal_id = result.deal_id

    if deal_id is not None:
        # Reconcile with the server's view: the stop and the profit are in force.
        position = client.positions.get(deal_id).position
        print(f"stop {position.stop_level}, profit {position.profit_level}")
        assert position.stop_level is not None and position.profit_level is not None
        closed = client.positions.close(deal_id)
        print(f"closed: {closed.deal_status}")
