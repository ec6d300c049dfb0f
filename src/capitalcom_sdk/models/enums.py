"""The API's enumerations (SPEC section 5) and their open, tolerant field types.

Every enum is a :class:`~enum.StrEnum`, so members compare equal to their wire strings
(``Direction.BUY == "BUY"``). Response fields use the ``Open*`` aliases of
:mod:`capitalcom_sdk.models._open`, e.g. ``OpenDirection = Direction | str``: a documented value
parses into the enum member, a value the server adds later is kept as the plain string instead of
failing the whole response. Code that switches on a field should therefore handle "anything else"
(``case _:``). This module imports no pydantic (the command line's option types come from here).
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Deal direction."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """Working order type (request ``type``, response ``orderType``)."""

    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(StrEnum):
    """Working order lifetime."""

    GOOD_TILL_CANCELLED = "GOOD_TILL_CANCELLED"
    GOOD_TILL_DATE = "GOOD_TILL_DATE"


class Resolution(StrEnum):
    """Price bar resolution."""

    MINUTE = "MINUTE"
    MINUTE_5 = "MINUTE_5"
    MINUTE_15 = "MINUTE_15"
    MINUTE_30 = "MINUTE_30"
    HOUR = "HOUR"
    HOUR_4 = "HOUR_4"
    DAY = "DAY"
    WEEK = "WEEK"

    @property
    def seconds(self) -> int:
        """Length of one bar in seconds."""
        return _RESOLUTION_SECONDS[self]


_RESOLUTION_SECONDS = {
    Resolution.MINUTE: 60,
    Resolution.MINUTE_5: 300,
    Resolution.MINUTE_15: 900,
    Resolution.MINUTE_30: 1800,
    Resolution.HOUR: 3600,
    Resolution.HOUR_4: 14400,
    Resolution.DAY: 86400,
    Resolution.WEEK: 604800,
}


class DealStatus(StrEnum):
    """Outcome of a deal in its confirmation."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ConfirmReason(StrEnum):
    """``reason`` of a confirm: SUCCESS, or why a deal was rejected.

    The list comes from the official Java sample (IG-derived, SPEC section 5) and is not verified
    against the server; the simulator and observed clients also use ``rejectReason`` values such
    as ``RISK_CHECK``, which arrive as plain strings.
    """

    SUCCESS = "SUCCESS"
    ACCOUNT_NOT_ENABLED_TO_TRADING = "ACCOUNT_NOT_ENABLED_TO_TRADING"
    ATTACHED_ORDER_LEVEL_ERROR = "ATTACHED_ORDER_LEVEL_ERROR"
    ATTACHED_ORDER_TRAILING_STOP_ERROR = "ATTACHED_ORDER_TRAILING_STOP_ERROR"
    CANNOT_CHANGE_STOP_TYPE = "CANNOT_CHANGE_STOP_TYPE"
    CANNOT_REMOVE_STOP = "CANNOT_REMOVE_STOP"
    CLOSING_ONLY_TRADES_ACCEPTED_ON_THIS_MARKET = "CLOSING_ONLY_TRADES_ACCEPTED_ON_THIS_MARKET"
    CONFLICTING_ORDER = "CONFLICTING_ORDER"
    CONTACT_SUPPORT_INSTRUMENT_ERROR = "CONTACT_SUPPORT_INSTRUMENT_ERROR"
    CR_SPACING = "CR_SPACING"
    DUPLICATE_ORDER_ERROR = "DUPLICATE_ORDER_ERROR"
    EXCHANGE_MANUAL_OVERRIDE = "EXCHANGE_MANUAL_OVERRIDE"
    EXPIRY_LESS_THAN_SPRINT_MARKET_MIN_EXPIRY = "EXPIRY_LESS_THAN_SPRINT_MARKET_MIN_EXPIRY"
    FINANCE_REPEAT_DEALING = "FINANCE_REPEAT_DEALING"
    FORCE_OPEN_ON_SAME_MARKET_DIFFERENT_CURRENCY = "FORCE_OPEN_ON_SAME_MARKET_DIFFERENT_CURRENCY"
    GENERAL_ERROR = "GENERAL_ERROR"
    GOOD_TILL_DATE_IN_THE_PAST = "GOOD_TILL_DATE_IN_THE_PAST"
    INSTRUMENT_NOT_FOUND = "INSTRUMENT_NOT_FOUND"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    LEVEL_TOLERANCE_ERROR = "LEVEL_TOLERANCE_ERROR"
    LIMIT_ORDER_WRONG_SIDE_OF_MARKET = "LIMIT_ORDER_WRONG_SIDE_OF_MARKET"
    MANUAL_ORDER_TIMEOUT = "MANUAL_ORDER_TIMEOUT"
    MARGIN_ERROR = "MARGIN_ERROR"
    MARKET_CLOSED = "MARKET_CLOSED"
    MARKET_CLOSED_WITH_EDITS = "MARKET_CLOSED_WITH_EDITS"
    MARKET_CLOSING = "MARKET_CLOSING"
    MARKET_NOT_BORROWABLE = "MARKET_NOT_BORROWABLE"
    MARKET_OFFLINE = "MARKET_OFFLINE"
    MARKET_ORDERS_NOT_ALLOWED_ON_INSTRUMENT = "MARKET_ORDERS_NOT_ALLOWED_ON_INSTRUMENT"
    MARKET_PHONE_ONLY = "MARKET_PHONE_ONLY"
    MARKET_ROLLED = "MARKET_ROLLED"
    MARKET_UNAVAILABLE_TO_CLIENT = "MARKET_UNAVAILABLE_TO_CLIENT"
    MAX_AUTO_SIZE_EXCEEDED = "MAX_AUTO_SIZE_EXCEEDED"
    MINIMUM_ORDER_SIZE_ERROR = "MINIMUM_ORDER_SIZE_ERROR"
    MOVE_AWAY_ONLY_LIMIT = "MOVE_AWAY_ONLY_LIMIT"
    MOVE_AWAY_ONLY_STOP = "MOVE_AWAY_ONLY_STOP"
    MOVE_AWAY_ONLY_TRIGGER_LEVEL = "MOVE_AWAY_ONLY_TRIGGER_LEVEL"
    OPPOSING_DIRECTION_ORDERS_NOT_ALLOWED = "OPPOSING_DIRECTION_ORDERS_NOT_ALLOWED"
    OPPOSING_POSITIONS_NOT_ALLOWED = "OPPOSING_POSITIONS_NOT_ALLOWED"
    ORDER_DECLINED = "ORDER_DECLINED"
    ORDER_LOCKED = "ORDER_LOCKED"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    OVER_NORMAL_MARKET_SIZE = "OVER_NORMAL_MARKET_SIZE"
    PARTIALY_CLOSED_POSITION_NOT_DELETED = "PARTIALY_CLOSED_POSITION_NOT_DELETED"
    POSITION_ALREADY_EXISTS_IN_OPPOSITE_DIRECTION = "POSITION_ALREADY_EXISTS_IN_OPPOSITE_DIRECTION"
    POSITION_NOT_AVAILABLE_TO_CANCEL = "POSITION_NOT_AVAILABLE_TO_CANCEL"
    POSITION_NOT_AVAILABLE_TO_CLOSE = "POSITION_NOT_AVAILABLE_TO_CLOSE"
    POSITION_NOT_FOUND = "POSITION_NOT_FOUND"
    REJECT_CFD_ORDER_ON_SPREADBET_ACCOUNT = "REJECT_CFD_ORDER_ON_SPREADBET_ACCOUNT"
    REJECT_SPREADBET_ORDER_ON_CFD_ACCOUNT = "REJECT_SPREADBET_ORDER_ON_CFD_ACCOUNT"
    SIZE_INCREMENT = "SIZE_INCREMENT"
    SPRINT_MARKET_EXPIRY_AFTER_MARKET_CLOSE = "SPRINT_MARKET_EXPIRY_AFTER_MARKET_CLOSE"
    STOP_OR_LIMIT_NOT_ALLOWED = "STOP_OR_LIMIT_NOT_ALLOWED"
    STOP_REQUIRED_ERROR = "STOP_REQUIRED_ERROR"
    STRIKE_LEVEL_TOLERANCE = "STRIKE_LEVEL_TOLERANCE"
    TRAILING_STOP_NOT_ALLOWED = "TRAILING_STOP_NOT_ALLOWED"
    UNKNOWN = "UNKNOWN"
    WRONG_SIDE_OF_MARKET = "WRONG_SIDE_OF_MARKET"


class ResponseStatus(StrEnum):
    """``status`` of the bare status answers (ping: OK; writes: SUCCESS)."""

    OK = "OK"
    SUCCESS = "SUCCESS"


class PositionStatus(StrEnum):
    """``status`` of a confirm."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    DELETED = "DELETED"
    AMENDED = "AMENDED"
    PARTIALLY_CLOSED = "PARTIALLY_CLOSED"


class AffectedDealStatus(StrEnum):
    """``affectedDeals[].status`` of a confirm."""

    OPENED = "OPENED"
    AMENDED = "AMENDED"
    DELETED = "DELETED"
    FULLY_CLOSED = "FULLY_CLOSED"
    PARTIALLY_CLOSED = "PARTIALLY_CLOSED"


class InstrumentType(StrEnum):
    """Instrument type (documented values; legacy IG types arrive as plain strings)."""

    COMMODITIES = "COMMODITIES"
    CURRENCIES = "CURRENCIES"
    CRYPTOCURRENCIES = "CRYPTOCURRENCIES"
    INDICES = "INDICES"
    SHARES = "SHARES"


class LeverageGroup(StrEnum):
    """Keys of ``leverages`` in the account preferences."""

    SHARES = "SHARES"
    CURRENCIES = "CURRENCIES"
    INDICES = "INDICES"
    CRYPTOCURRENCIES = "CRYPTOCURRENCIES"
    COMMODITIES = "COMMODITIES"


class MarketStatus(StrEnum):
    """Trading status of a market."""

    TRADEABLE = "TRADEABLE"
    CLOSED = "CLOSED"
    EDITS_ONLY = "EDITS_ONLY"
    OFFLINE = "OFFLINE"
    ON_AUCTION = "ON_AUCTION"
    ON_AUCTION_NO_EDITS = "ON_AUCTION_NO_EDITS"
    SUSPENDED = "SUSPENDED"


class MarketMode(StrEnum):
    """Entries of ``marketModes``."""

    REGULAR = "REGULAR"
    VIEW_ONLY = "VIEW_ONLY"


class RuleUnit(StrEnum):
    """Unit of a dealing rule."""

    POINTS = "POINTS"
    PERCENTAGE = "PERCENTAGE"


class MarketOrderPreference(StrEnum):
    """Dealing rule ``marketOrderPreference``."""

    AVAILABLE_DEFAULT_ON = "AVAILABLE_DEFAULT_ON"
    AVAILABLE_DEFAULT_OFF = "AVAILABLE_DEFAULT_OFF"
    NOT_AVAILABLE = "NOT_AVAILABLE"


class TrailingStopsPreference(StrEnum):
    """Dealing rule ``trailingStopsPreference``."""

    AVAILABLE = "AVAILABLE"
    NOT_AVAILABLE = "NOT_AVAILABLE"


class AccountStatus(StrEnum):
    """Status of a financial account."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    SUSPENDED_FROM_DEALING = "SUSPENDED_FROM_DEALING"


class AccountType(StrEnum):
    """Type of a financial account."""

    CFD = "CFD"
    PHYSICAL = "PHYSICAL"
    SPREADBET = "SPREADBET"


class ActivitySource(StrEnum):
    """Who caused an activity."""

    CLOSE_OUT = "CLOSE_OUT"
    DEALER = "DEALER"
    SL = "SL"
    SYSTEM = "SYSTEM"
    TP = "TP"
    USER = "USER"


class ActivityStatus(StrEnum):
    """Status of an activity."""

    ACCEPTED = "ACCEPTED"
    CREATED = "CREATED"
    EXECUTED = "EXECUTED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    MODIFIED = "MODIFIED"
    MODIFY_REJECT = "MODIFY_REJECT"
    CANCELLED = "CANCELLED"
    CANCEL_REJECT = "CANCEL_REJECT"
    UNKNOWN = "UNKNOWN"


class ActivityType(StrEnum):
    """Type of an activity."""

    POSITION = "POSITION"
    WORKING_ORDER = "WORKING_ORDER"
    EDIT_STOP_AND_LIMIT = "EDIT_STOP_AND_LIMIT"
    SWAP = "SWAP"
    SYSTEM = "SYSTEM"


class TransactionType(StrEnum):
    """Type of a transaction."""

    INACTIVITY_FEE = "INACTIVITY_FEE"
    RESERVE = "RESERVE"
    VOID = "VOID"
    UNRESERVE = "UNRESERVE"
    WRITE_OFF_OR_CREDIT = "WRITE_OFF_OR_CREDIT"
    CREDIT_FACILITY = "CREDIT_FACILITY"
    FX_COMMISSION = "FX_COMMISSION"
    COMPLAINT_SETTLEMENT = "COMPLAINT_SETTLEMENT"
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    REFUND = "REFUND"
    WITHDRAWAL_MONEY_BACK = "WITHDRAWAL_MONEY_BACK"
    TRADE = "TRADE"
    SWAP = "SWAP"
    TRADE_COMMISSION = "TRADE_COMMISSION"
    TRADE_COMMISSION_GSL = "TRADE_COMMISSION_GSL"
    NEGATIVE_BALANCE_PROTECTION = "NEGATIVE_BALANCE_PROTECTION"
    TRADE_CORRECTION = "TRADE_CORRECTION"
    CHARGEBACK = "CHARGEBACK"
    ADJUSTMENT = "ADJUSTMENT"
    BONUS = "BONUS"
    TRANSFER = "TRANSFER"
    CORPORATE_ACTION = "CORPORATE_ACTION"
    CONVERSION = "CONVERSION"
    REBATE = "REBATE"
    TRADE_SLIPPAGE_PROTECTION = "TRADE_SLIPPAGE_PROTECTION"


class TransactionStatus(StrEnum):
    """Status of a transaction (only PROCESSED seen)."""

    PROCESSED = "PROCESSED"


class WatchlistCreateStatus(StrEnum):
    """``status`` of a watchlist creation."""

    SUCCESS = "SUCCESS"
    SUCCESS_NOT_ALL_INSTRUMENTS_ADDED = "SUCCESS_NOT_ALL_INSTRUMENTS_ADDED"


# Open field types: the enum member when the value is documented, else the plain string.
