"""The words parser v1 knows. Lowercase; tokens are compared by their lowercased text."""

from __future__ import annotations

# (phrase, action, side of this order or None for "the default of the action", strong?)
# Strong phrases are unambiguous trade language; weak ones ("in", "bought") also occur in chatter, so a weak word
# alone, without a ticker, contract or price, is not treated as a broken trade.
ACTION_PHRASES: tuple[tuple[tuple[str, ...], str, str | None, bool], ...] = (
    (("buy", "to", "open"), "open", "buy", True),
    (("bought", "to", "open"), "open", "buy", True),
    (("buying", "to", "open"), "open", "buy", True),
    (("sell", "to", "open"), "open", "sell", True),
    (("sold", "to", "open"), "open", "sell", True),
    (("selling", "to", "open"), "open", "sell", True),
    (("sell", "to", "close"), "close", "sell", True),
    (("sold", "to", "close"), "close", "sell", True),
    (("selling", "to", "close"), "close", "sell", True),
    (("buy", "to", "close"), "close", "buy", True),
    (("bought", "to", "close"), "close", "buy", True),
    (("buying", "to", "close"), "close", "buy", True),
    (("bought", "back"), "close", "buy", True),
    (("debit", "to", "open"), "open", None, True),
    (("credit", "to", "open"), "open", None, True),
    (("debit", "to", "close"), "close", None, True),
    (("credit", "to", "close"), "close", None, True),
    (("bto",), "open", "buy", True),
    (("sto",), "open", "sell", True),
    (("stc",), "close", "sell", True),
    (("btc",), "close", "buy", True),
    (("all", "out"), "close", None, True),
    (("stopped", "out"), "close", None, True),
    (("stop", "out"), "close", None, True),
    (("stop", "hit"), "close", None, True),
    (("stopped",), "close", None, True),
    (("sl", "hit"), "close", None, True),
    (("sold", "half"), "trim", None, True),
    (("sell", "half"), "trim", None, True),
    (("selling", "half"), "trim", None, True),
    (("scale", "out"), "trim", None, True),
    (("scaling", "out"), "trim", None, True),
    (("scaled", "out"), "trim", None, True),
    (("taking", "profits"), "trim", None, True),
    (("taking", "profit"), "trim", None, True),
    (("took", "profits"), "trim", None, True),
    (("took", "profit"), "trim", None, True),
    (("take", "profits"), "trim", None, True),
    (("take", "profit"), "trim", None, True),
    (("taking", "some"), "trim", None, True),
    (("trim",), "trim", None, True),
    (("trims",), "trim", None, True),
    (("trimmed",), "trim", None, False),
    (("trimming",), "trim", None, False),
    (("avg", "down"), "add", None, True),
    (("average", "down"), "add", None, True),
    (("averaging", "down"), "add", None, True),
    (("averaged", "down"), "add", None, True),
    (("doubled", "down"), "add", None, True),
    (("doubling", "down"), "add", None, True),
    (("add",), "add", None, True),
    (("added",), "add", None, False),
    (("adding",), "add", None, False),
    (("adds",), "add", None, False),
    (("scaling", "into"), "open", "buy", True),
    (("scaling", "in"), "open", "buy", True),
    (("scaled", "into"), "open", "buy", True),
    (("scale", "into"), "open", "buy", True),
    (("bought",), "open", "buy", False),
    (("buy",), "open", "buy", False),
    (("buying",), "open", "buy", False),
    (("grabbed",), "open", "buy", False),
    (("grabbing",), "open", "buy", False),
    (("entered",), "open", "buy", False),
    (("entering",), "open", "buy", False),
    (("entry",), "open", "buy", False),
    (("opened",), "open", "buy", False),
    (("opening",), "open", "buy", False),
    (("long",), "open", "buy", False),
    (("short",), "open", "short", False),
    (("closing",), "close", None, False),
    (("closed",), "close", None, False),
    (("exit",), "close", None, False),
    (("exited",), "close", None, False),
    (("exiting",), "close", None, False),
    (("sold",), "close", None, False),
    (("sell",), "close", None, False),
    (("selling",), "close", None, False),
    (("covered",), "close", "buy", False),
    (("cut",), "close", None, False),
    (("cutting",), "close", None, False),
)
# Words that are actions only in some positions: at the start of a segment or after these words.
POSITIONAL = {
    "in": ("open", {"got", "im", "i'm", "back", "we're", "were", "also", "and", "&"}),
    "out": ("close", {"got", "im", "i'm", "we're", "were", "also", "and", "&", "rest"}),
    "close": ("close", set()),
    "closing": ("close", set()),
}
# "in @ 1.2", "in at 1.2", "in here": "in" is an action before these even mid-sentence.
IN_FOLLOWERS = {"@", "at", "here", "now"}

INTENT = {
    "eyeing", "eye", "eyes", "watching", "watch", "watchlist", "watchlists", "wl", "radar", "might", "maybe",
    "considering", "consider", "thinking", "planning", "plan", "waiting", "wait", "idea", "ideas", "potential",
    "possible", "possibly", "looking", "interested", "hoping", "hope", "wishing", "should", "would", "could",
    "if", "unless", "setup", "setups", "stalking", "tomorrow's", "tmrw", "monitoring",
}  # fmt: skip
RECAP = {
    "recap", "recaps", "results", "review", "recapping", "journal", "summary", "yesterday", "yesterday's",
    "pnl", "p&l", "win", "wins", "winner", "winners", "congrats", "congratulations", "gains", "banked", "paid",
    "profit", "printed", "printing", "cashed", "nailed", "called", "reminder", "reminders",
}  # fmt: skip
# Market commentary: with no action word, a ticker and a number are a level, not a trade.
COMMENTARY = {
    "level", "levels", "support", "resistance", "broke", "breaking", "breakout", "breakdown", "holding", "held",
    "hold", "reject", "rejected", "rejecting", "rejection", "bounce", "bounced", "bouncing", "above", "below",
    "over", "under", "gap", "gapped", "gapping", "pump", "pumping", "dump", "dumping", "ran", "running", "chart",
    "trend", "area", "zone", "ath", "futures", "market", "markets", "red", "green", "flat", "up", "down",
    "reclaim", "reclaimed", "retest", "news", "earnings", "er", "premarket", "pm", "ah", "tested", "testing",
    "looks", "juicy", "play", "were", "was", "by",
}  # fmt: skip

STOP_LABELS = {"sl", "stop", "stoploss", "stop-loss", "sl's"}
TARGET_LABELS = {"pt", "pts", "tp", "tps", "target", "targets", "tgt", "tgts", "tg", "pt's", "t"}
PRICE_LABELS = {"@", "at", "entry", "price", "fill", "filled", "avg", "cost", "limit", "lmt"}
# Skipped between a label and its value: "SL is HOD", "SL moved to 1.50", "PT: 3.72".
LABEL_FILLER = {
    ":", "=", "-", "@", "at", "is", "to", "moved", "move", "moving", "now", "of", "raised", "raise", "raising",
    "lowered", "lower", "set", "new", "->", ">", "around", "on", "loss", "price", "trailing", "trail", "initial",
    "first", "1st", "adjusted", "adjust", "update", "updated", "updating", "tightened", "tighten", "up", "at:",
    "would", "will", "for",
}  # fmt: skip
STOP_TEXT = {"hod": "HOD", "lod": "LOD", "be": "BE", "b/e": "BE", "breakeven": "breakeven", "vwap": "VWAP",
             "entry": "entry", "cost": "cost", "even": "breakeven", "pdh": "PDH", "pdl": "PDL"}  # fmt: skip

RIGHTS = {"c": "C", "call": "C", "calls": "C", "p": "P", "put": "P", "puts": "P"}
QTY_UNITS = {"x", "contracts", "contract", "cons", "con", "cts", "ct", "shares", "share", "lots", "lot", "qty"}
SHARE_UNITS = {"shares", "share"}
SIZE_NOUNS = {"size", "sized", "position", "pos", "sizing", "allocation"}
SIZE_ADJ = {
    "starter", "small", "smaller", "half", "full", "quarter", "lotto", "light", "tiny", "normal", "regular",
    "big", "bigger", "double", "medium", "max", "min", "minimal", "reduced", "standard",
}  # fmt: skip
ACCOUNT_NOUNS = {"account", "acct", "port", "portfolio", "capital", "bp", "nav"}
FRACTION_CONTEXT = {
    "trim", "trims", "trimmed", "trimming", "sold", "sell", "selling", "out", "close", "closed", "closing",
    "took", "take", "taking", "scale", "scaled", "scaling", "stc", "off",
}  # fmt: skip
WEEKLY = {"weekly", "weeklies", "weeklys", "eow", "wk"}
FUTURES = {
    "es", "nq", "ym", "rty", "cl", "gc", "si", "ng", "zb", "zn", "zf", "zt", "hg", "mes", "mnq", "mym", "mcl",
    "mgc", "m2k", "ub", "rb", "ho", "zc", "zs", "zw", "btc", "eth", "mbt", "met",
}  # fmt: skip
TAG_WORDS = {
    "lotto": "lotto", "lottos": "lotto", "lottery": "lotto", "lotos": "lotto", "lotto's": "lotto",
    "swing": "swing", "swings": "swing", "swinging": "swing", "risky": "high_risk", "yolo": "high_risk",
}  # fmt: skip
# Words skipped when looking for the ticker right after an action word: "adding to AMD", "out of the rest of SPY".
TICKER_FILLER = {
    "to", "of", "the", "my", "our", "rest", "remaining", "all", "more", "another", "a", "an", "some", "into",
    "on", "in", "back", "position", "pos", "here", "few", "x", "this", "these", "those", "again", "little",
    "bit", "most", "your", "starter", "lotto", "swing", "small", "half", "full", "size", "1/2", "now",
}  # fmt: skip

# Never a ticker without a $ (words every alert uses, English function words, trading jargon).
NOT_TICKERS = frozenset(
    """
    a i an the and or but if so to of in on at by for from with as is it its it's be am are was were been do did
    done not no yes ok okay this that these those here there now then today tomorrow tonight week day days month
    year we you he she they me us my our your his her their them im i'm ive i've we're you're let's lets just still
    also too very much more most less all any some both each every few many one two three new old good great nice
    bad big small next last first again back off up down out over under into onto about after before above below
    near via per vs than what when where who why how which will can may might must should would could have has had
    get got go going gonna see let like want need keep make made take took left right hit hits run guys team
    everyone gm gn lol lmao omg wow hey hi hello thanks ty thx pls please morning afternoon evening night well only
    even ever soon later early late same other another such own way time lot bit little sure free real live hot top
    low high open close easy fast slow love fun win loss lose note notes reminder update alert alerts trade trades
    trading play plays position positions pos size risk reward ready nothing something anything everything things
    thing people guy man bro fam yall y'all ya u ur r n w b bc cuz because while until till since though although
    either neither anyone someone somebody nobody none nah yeah yep yup hmm bto sto stc btc buy sell bought sold
    long short calls call puts put c p otm itm atm dte exp expiry expiration strike strikes prem premium contract
    contracts cons shares share lotto lottos swing scalp scalps sl pt pts tp tps stop target targets tgt entry avg
    limit lmt debit credit spread spreads vertical leap leaps roll rolled rolling covered naked iron condor
    butterfly straddle strangle bull bear bullish bearish hod lod vwap ema sma rsi macd ath atl eod eow pm ah fomc
    cpi ppi nfp gdp fed er iv dd ta fa imo fyi asap usa eu uk cst est et pst utc weekly weeklies monthly trim
    trimmed add added adding risky yolo starter half full quarter fill filled price cost account acct port portfolio
    profit profits gain gains losses green red pump dump market markets futures stock stocks option options ticker
    tickers chart charts level levels support resistance breakout breakdown bounce rip dip moon mooning print
    printing runner runners letting ride riding hold holding held holders cheap tight wide momentum float volume vol
    bid ask mid mark nextweek closing closed opening opened entered exit exited grabbed scaling scale trail trailing
    ts breakeven sl's ratio leg legs weeks months jan feb mar apr jun jul aug sep sept oct nov dec january february
    march april june july august september october november december mon tue wed thu fri monday tuesday wednesday
    thursday friday saturday sunday x k e t s d m h light tiny normal regular double idea watch watching watchlist
    wl eyeing recap results review gap zero sized sizing mins min hr hrs hour hours lotto's
    """.split()
)
