"""The executor's reasons and order states in words, for /orders and the API: every skip reason with the rule that
refused it (the page lists the rules, and each skipped signal links its rule), every failure reason and order status.
The rules are the README's ("Following signals into a broker account")."""

from __future__ import annotations

from typing import Any

# reason -> (what happened, in words; the rule, in words)
SKIPS: dict[str, tuple[str, str]] = {
    "paused": ("Execution was paused",
               "While execution is paused (from /orders or `autosig pause`) no new decision is sent to the broker."),
    "entries_off": ("Entries are turned off", "AUTOSIG_TRADE_ENTRIES is false: opens and adds are not traded."),
    "exits_off": ("Exits are turned off", "AUTOSIG_TRADE_EXITS is false: trims and closes are not traded."),
    "stale_alert": ("The alert was too old when AutoSig saw it",
                    "An alert posted more than AUTOSIG_MAX_ALERT_AGE_SECONDS (default 90 s) ago, or more than 60 s "
                    "in the future, by the executor's clock, is never traded: a backfill after downtime never trades."),
    "clock_skew": ("The executor's clock is off the broker's",
                   "Entries are refused while the executor's clock is more than 5 s off the broker's."),
    "ingestion_stale": ("Ingestion was stale",
                        "Entries are refused while ingestion is stale: the exits of what is bought could be missed."),
    "author_not_followed": ("The author is not followed", "AUTOSIG_AUTHORS is set and does not name the author."),
    "low_confidence": ("The parser was not sure of its reading",
                       "A signal whose confidence is below AUTOSIG_MIN_CONFIDENCE (default 0.8) is not traded."),
    "unsupported": ("Not something AutoSig trades",
                    "Futures, updates (stops and targets are recorded, never placed at the broker) and whatever the "
                    "broker cannot trade."),
    "ticker_not_allowed": ("The ticker is not allowed",
                           "AUTOSIG_TICKERS_ALLOW is set and lacks it, or AUTOSIG_TICKERS_DENY names it."),
    "no_price": ("The alert gives no price",
                 "An entry needs a price (an entry is never a market order); an exit needs a price or a fresh bid."),
    "too_cheap": ("The option is too cheap",
                  "An option entry below AUTOSIG_MIN_OPTION_PRICE (default 0.10) is not traded."),
    "market_closed": ("The market was closed", "Orders are placed only during the regular US session."),
    "unknown_contract": ("The broker does not list this contract",
                         "The broker's contract lookup must list it (a wrong strike or a holiday expiry does not)."),
    "already_open": ("AutoSig already holds or is entering this contract",
                     "An open of a contract AutoSig already holds or is entering is skipped (analysts repost "
                     "alerts)."),
    "no_position": ("AutoSig holds no matching position",
                    "A trim, close or add must match one of AutoSig's own positions: AutoSig never sells what it did "
                    "not buy."),
    "ambiguous": ("Several of AutoSig's positions match",
                  "A trim, close or add that matches several of AutoSig's positions is never guessed."),
    "price_moved": ("The price moved away from the alert's",
                    "With a fresh quote, the ask is above the alert's price plus the allowed slippage "
                    "(AUTOSIG_SLIPPAGE_PCT_OPTION, AUTOSIG_SLIPPAGE_PCT_STOCK)."),
    "price_mismatch": ("The quote does not fit the alert's price",
                       "With a fresh quote, the ask is below 0.7 × the alert's price: the contract may be misread."),
    "cap:max_open_positions": ("Too many open positions",
                               "An entry would exceed AUTOSIG_MAX_OPEN_POSITIONS (default 10). Caps bind entries "
                               "only."),
    "cap:max_trades_per_day": ("Too many trades today",
                               "An entry would exceed AUTOSIG_MAX_TRADES_PER_DAY (default 20) this New York day."),
    "cap:max_daily_usd": ("Today's entry budget is used up",
                          "An entry would take today's entry cost over AUTOSIG_MAX_DAILY_USD (default 5000)."),
    "cap:max_daily_loss_usd": ("Today's loss limit is reached",
                               "Entries stop once today's realized loss reaches AUTOSIG_MAX_DAILY_LOSS_USD (default "
                               "500)."),
    "too_small": ("The sized quantity is 0",
                  "AUTOSIG_SIZE, AUTOSIG_MAX_TRADE_USD and AUTOSIG_MAX_CONTRACTS left nothing to buy."),
}

FAILURES = {
    "refused": "The broker refused the order",
    "expired_unsent": "Never sent: the alert was too old by the time the broker could be asked",
    "unverified": "The outcome could not be verified at the broker; it is never resent — check the account",
    "paused": "Not sent: execution was paused before it went out",
    "id_collision": "The broker holds a different order under this id — check the account",
}

STATUSES = {
    "dry_run": "recorded (dry run, never sent)",
    "planned": "planned, not sent yet",
    "unknown": "outcome unknown — being reconciled",
    "accepted": "working at the broker",
    "partially_filled": "partially filled",
    "filled": "filled",
    "canceled": "canceled",
    "expired": "expired",
    "rejected": "rejected by the broker",
    "failed": "failed",
}


def rule_anchor(reason: str | None) -> str:
    """The id of a rule's entry on /orders (ids cannot hold ':')."""
    return "rule-" + str(reason or "").replace(":", "-")


def reason_words(entry: dict[str, Any]) -> str | None:
    """What a decision's skip reason or its order's failure means, in words."""
    reason = entry.get("reason")
    if reason:
        known = SKIPS.get(str(reason))
        return known[0] if known else str(reason)
    failure = entry.get("failure")
    if failure:
        return FAILURES.get(str(failure), str(failure))
    return None


def status_words(status: str | None) -> str:
    return STATUSES.get(str(status), str(status)) if status else ""


def rules() -> list[dict[str, str]]:
    """Every skip reason with its anchor, words and rule, in the order the executor checks them."""
    return [{"reason": r, "anchor": rule_anchor(r), "words": w, "rule": rule} for r, (w, rule) in SKIPS.items()]


__all__ = ["FAILURES", "SKIPS", "STATUSES", "reason_words", "rule_anchor", "rules", "status_words"]
