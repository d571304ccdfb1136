using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement;

/// <summary>
/// The rules of one market. Times are unix seconds, prices minor currency units per MWh.
/// A trade's settlement deadline is interval start + <see cref="IntervalSeconds"/> + <see cref="GraceSeconds"/>.
/// </summary>
public sealed record MarketRules(
    string Market,
    long IntervalSeconds = 900,
    long GraceSeconds = 3600,
    long ImbalancePriceCap = 500_000,
    long DefaultImbalancePrice = 10_000,
    long LossPpm = 0)
{
    public long IntervalEnd(long start) => checked(start + IntervalSeconds);
    public long Deadline(long start) => checked(start + IntervalSeconds + GraceSeconds);
}

public enum TradeState { Open, Settled, Refunded }

/// <summary>Why a commitment or a reading was refused. The names are the custom errors of the contract port.</summary>
public enum Refusal
{
    None, InvalidFields, WrongMarket, BadBuyerSignature, BadSellerSignature, Expired, GateClosed, Replay, NonceReused,
    Overflow, InsufficientBuyerFunds, InsufficientSellerCollateral, SellerHasNoMeter,
    NotOracle, BadSignature, Misaligned, TooEarly, Late, ConflictingReading, DuplicateReading, InsufficientFunds,
}

/// <summary>The result of one engine call: the postings it made (empty when refused) and the refusal with its reason.</summary>
public sealed record EngineResult(Refusal Refusal, string Message, IReadOnlyList<Posting> Postings)
{
    public bool Accepted => Refusal == Refusal.None;
    internal static EngineResult Ok(params Posting[] p) => new(Refusal.None, "ok", p);
    internal static EngineResult No(Refusal r, string m) => new(r, m, []);
}

/// <summary>An opened trade: its terms, the locked amounts and, once settled, the outcome.</summary>
/// <summary>The amounts of one trade's settlement (the contract's Settled event carries the same fields).</summary>
public readonly record struct SettleAmounts(long DeliveredWh, long ShortfallWh, long ExcessWh, long LossWh, long Pay, long Refund, long Charge, long Credit);

/// <summary>A trade's state and outcome as any backend reports it.</summary>
public sealed record TradeStatus(string Id, TradeState State, long DeliveredWh, long SellerPaid, long BuyerRefund, long ImbalanceAmount);

public sealed class TradeRecord(string id, TradeCommitment c, long escrow, long collateral)
{
    public string Id { get; } = id;
    public TradeCommitment Commitment { get; } = c;
    public long Escrow { get; } = escrow;
    public long Collateral { get; } = collateral;
    public TradeState State { get; internal set; } = TradeState.Open;
    public long DeliveredWh { get; internal set; }
    public long ShortfallWh { get; internal set; }
    public long ExcessWh { get; internal set; }
    public long SellerPaid { get; internal set; }
    public long BuyerRefund { get; internal set; }
    public long ImbalanceAmount { get; internal set; }
    public long ImbalancePrice { get; internal set; }
    public CarbonAdjustment? Carbon { get; internal set; }
    /// <summary>The engine's settle:ID posting of the trade (its carbon lines are folded into it), and the time of its carbon adjustment.</summary>
    internal Posting? Settlement { get; set; }
    internal long CarbonTime { get; set; }
    /// <summary>The lines of the carbon adjustment (made once, when it is applied; the carbon posting and the folded settlement share them).</summary>
    internal IReadOnlyList<Line>? CarbonLines { get; set; }
}

/// <summary>
/// A trade's carbon adjustment: its change of emissions (grams CO₂, split buyer/seller) and the carbon money (minor units;
/// + = a charge, − = a credit), split the same way. <see cref="From"/> makes one from grams, a price and the buyer's share.
/// </summary>
public readonly record struct CarbonAdjustment(string TradeId, long BuyerGrams, long SellerGrams, long BuyerMoney, long SellerMoney)
{
    public long Grams => BuyerGrams + SellerGrams;
    public long Money => BuyerMoney + SellerMoney;

    /// <summary>
    /// grams rounded to whole grams, money = grams × price per tonne / 10⁶ rounded to whole minor units (half away from zero);
    /// the buyer's part of each = round(total × share), the seller's the rest, so the parts always add up.
    /// </summary>
    public static CarbonAdjustment From(string tradeId, double grams, double pricePerTonne, double buyerShare)
    {
        if (!double.IsFinite(grams) || !(pricePerTonne >= 0) || !(buyerShare is >= 0 and <= 1)) throw new ArgumentException("grams must be finite, price ≥ 0, share in [0, 1]");
        long g = checked((long)Math.Round(grams, MidpointRounding.AwayFromZero));
        long m = checked((long)Math.Round(g * pricePerTonne / 1e6, MidpointRounding.AwayFromZero));
        long bg = (long)Math.Round(g * buyerShare, MidpointRounding.AwayFromZero), bm = (long)Math.Round(m * buyerShare, MidpointRounding.AwayFromZero);
        return new CarbonAdjustment(tradeId, bg, g - bg, bm, m - bm);
    }
}

/// <summary>
/// The escrow contract: a small state machine over trades (Open → Settled | Refunded) with the rules of
/// docs/settlement.md, written so that each method maps to one contract function. Every state change
/// returns balanced postings for the ledger (keys: open:ID, settle:ID, refund:ID, and the caller's keys
/// for deposits and withdrawals); the engine applies them to its own balances at once, so its checks
/// ("no negative balance without a credit line") see every earlier call.
/// </summary>
public sealed class EscrowEngine(MarketRules rules)
{
    public const string Deposits = "system:deposits";
    public const string Imbalance = "system:imbalance";
    public const string Losses = "system:losses";
    /// <summary>The community's carbon account: the counterpart of every participant's CO₂ and carbon money.</summary>
    public const string Carbon = "system:carbon";

    public static string Available(string p) => p + ":available";
    public static string EscrowAccount(string p) => p + ":escrow";
    public static string CollateralAccount(string p) => p + ":collateral";
    public static string Energy(string p) => p + ":energy";
    public static string Co2(string p) => p + ":co2";

    public MarketRules Rules { get; } = rules;

    // the balances: one cell per (account, commodity), never removed, so the carbon step can keep a participant's cells
    private readonly Dictionary<(string, Commodity), BalanceCell> _bal = [];
    private readonly Dictionary<string, TradeRecord> _trades = new(StringComparer.Ordinal);
    private readonly HashSet<(string, ulong)> _nonces = [];
    private readonly Dictionary<string, string> _meterOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _ownerMeter = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Meter, long Interval), long> _readings = [];
    private readonly Dictionary<long, long> _imbalancePrice = [];
    private readonly SortedDictionary<(long Interval, string Seller), List<TradeRecord>> _openGroups = [];
    private readonly List<string> _conflicts = [];

    public IReadOnlyDictionary<string, TradeRecord> Trades => _trades;
    public IReadOnlyList<string> Conflicts => _conflicts;
    public IReadOnlyDictionary<(string Account, Commodity Commodity), long> Balances => _balances ??= new BalanceView(_bal);
    private BalanceView? _balances;

    public long Balance(string account, Commodity c = Commodity.Money) => _bal.TryGetValue((account, c), out var cell) ? cell.Value : 0;

    /// <summary>The explicit credit line of an account: system accounts may go negative without limit, participants' money accounts not at all.</summary>
    public static long CreditLine(string account) => account.StartsWith("system:", StringComparison.Ordinal) ? long.MaxValue : 0;

    /// <summary>Registers a meter's oracle key (its address) for a participant; one meter per participant.</summary>
    public void RegisterMeter(string meter, string owner)
    {
        meter = Addr.Normalize(meter);
        owner = Addr.Normalize(owner);
        if (_meterOwner.TryGetValue(meter, out var o) && o != owner) throw new InvalidOperationException($"meter {meter} is already registered to {o}");
        if (_ownerMeter.TryGetValue(owner, out var m) && m != meter) throw new InvalidOperationException($"{owner} already has meter {m}");
        _meterOwner[meter] = owner;
        _ownerMeter[owner] = meter;
    }

    /// <summary>The interval's imbalance price (e.g. its LMP); 0 ≤ price ≤ the cap that sized the sellers' collateral.</summary>
    public void SetImbalancePrice(long intervalStart, long pricePerMWh)
    {
        if (pricePerMWh < 0 || pricePerMWh > Rules.ImbalancePriceCap)
            throw new ArgumentOutOfRangeException(nameof(pricePerMWh), $"imbalance price must be in [0, {Rules.ImbalancePriceCap}]");
        if (_openGroups.Keys.Any(k => k.Interval == intervalStart) && _imbalancePrice.TryGetValue(intervalStart, out var old) && old != pricePerMWh)
            throw new InvalidOperationException("the imbalance price of an interval with open trades cannot change");
        _imbalancePrice[intervalStart] = pricePerMWh;
    }

    public long ImbalancePrice(long intervalStart) => _imbalancePrice.GetValueOrDefault(intervalStart, Rules.DefaultImbalancePrice);

    public EngineResult Deposit(string participant, long amount, string key, long now)
    {
        participant = Addr.Normalize(participant);
        if (amount <= 0) return EngineResult.No(Refusal.InvalidFields, "a deposit must be > 0");
        return Apply(DepositPosting(key, participant, amount, now));
    }

    public EngineResult Withdraw(string participant, long amount, string key, long now)
    {
        participant = Addr.Normalize(participant);
        if (amount <= 0) return EngineResult.No(Refusal.InvalidFields, "a withdrawal must be > 0");
        if (Balance(Available(participant)) < amount) return EngineResult.No(Refusal.InsufficientFunds, "withdrawal exceeds the available balance");
        return Apply(WithdrawPosting(key, participant, amount, now));
    }

    /// <summary>
    /// Opens a trade from a commitment signed by both sides: checks fields, market, both signatures, replay,
    /// nonces, expiry and gate closure, then locks the buyer's escrow = amount(price, quantity) and the
    /// seller's collateral = amount(imbalance cap, quantity).
    /// </summary>
    public EngineResult Open(SignedCommitment sc, long now) => Open(sc, now, false);

    internal EngineResult Open(SignedCommitment sc, long now, bool skipSignatureCheck)
    {
        var c = sc.Commitment;
        if (!Addr.IsAddress(c.Buyer) || !Addr.IsAddress(c.Seller)) return EngineResult.No(Refusal.InvalidFields, "buyer and seller must be addresses");
        if (c.QuantityWh <= 0 || c.PricePerMWh < 0 || c.IntervalStart < 0 || c.Expiry < 0)
            return EngineResult.No(Refusal.InvalidFields, "quantity must be > 0, price, interval and expiry ≥ 0");
        if (c.IntervalStart % Rules.IntervalSeconds != 0) return EngineResult.No(Refusal.Misaligned, "the interval start is not on an interval boundary");
        c = c with { Buyer = Addr.Normalize(c.Buyer), Seller = Addr.Normalize(c.Seller) };
        if (c.Buyer == c.Seller) return EngineResult.No(Refusal.InvalidFields, "buyer and seller are the same");
        if (c.Market != Rules.Market) return EngineResult.No(Refusal.WrongMarket, $"commitment is for market '{c.Market}', not '{Rules.Market}'");
        var digest = c.Digest();
        var id = "0x" + Convert.ToHexStringLower(digest);
        if (!skipSignatureCheck)
        {
            if (Addr.Recover(digest, sc.BuyerSignature) != c.Buyer) return EngineResult.No(Refusal.BadBuyerSignature, "the buyer's signature does not match the commitment");
            if (Addr.Recover(digest, sc.SellerSignature) != c.Seller) return EngineResult.No(Refusal.BadSellerSignature, "the seller's signature does not match the commitment");
        }
        if (_trades.ContainsKey(id)) return EngineResult.No(Refusal.Replay, $"trade {id} was already submitted");
        if (_nonces.Contains((c.Buyer, c.Nonce)) || _nonces.Contains((c.Seller, c.Nonce)))
            return EngineResult.No(Refusal.NonceReused, $"nonce {c.Nonce} was already used by the buyer or the seller");
        if (now > c.Expiry) return EngineResult.No(Refusal.Expired, "the commitment expired before it was submitted");
        if (now >= c.IntervalStart) return EngineResult.No(Refusal.GateClosed, "the interval has started (gate closed)");
        if (!_ownerMeter.ContainsKey(c.Seller)) return EngineResult.No(Refusal.SellerHasNoMeter, "the seller has no registered meter");
        long escrow, collateral;
        try
        {
            escrow = Money.Amount(c.PricePerMWh, c.QuantityWh);
            collateral = Money.Amount(Rules.ImbalancePriceCap, c.QuantityWh);
        }
        catch (OverflowException)
        {
            return EngineResult.No(Refusal.Overflow, "price × quantity does not fit in 64 bits");
        }
        if (Balance(Available(c.Buyer)) < escrow) return EngineResult.No(Refusal.InsufficientBuyerFunds, $"the buyer needs {escrow} available for the escrow");
        if (Balance(Available(c.Seller)) < collateral) return EngineResult.No(Refusal.InsufficientSellerCollateral, $"the seller needs {collateral} available as collateral");

        var t = new TradeRecord(id, c, escrow, collateral);
        _trades[id] = t;
        _nonces.Add((c.Buyer, c.Nonce));
        _nonces.Add((c.Seller, c.Nonce));
        var key = (c.IntervalStart, c.Seller);
        if (!_openGroups.TryGetValue(key, out var g)) _openGroups[key] = g = [];
        g.Add(t);
        return Apply(OpenPosting(id, c.Buyer, c.Seller, escrow, collateral, now));
    }

    /// <summary>
    /// Accepts a signed meter reading from a registered oracle. An identical repeat is idempotent
    /// (<see cref="Refusal.DuplicateReading"/>, nothing changes); a different value for the same meter and
    /// interval is flagged (<see cref="Refusal.ConflictingReading"/>, listed in <see cref="Conflicts"/>) and the
    /// first value stays. Readings before the interval's end or after its deadline are refused.
    /// </summary>
    public EngineResult PostReading(SignedReading sr, long now) => PostReading(sr, now, false);

    internal EngineResult PostReading(SignedReading sr, long now, bool skipSignatureCheck)
    {
        var r = sr.Reading;
        if (!Addr.IsAddress(r.Meter) || r.EnergyWh < 0 || r.IntervalStart < 0) return EngineResult.No(Refusal.InvalidFields, "meter must be an address, energy and interval ≥ 0");
        var meter = Addr.Normalize(r.Meter);
        r = r with { Meter = meter };
        if (r.Market != Rules.Market) return EngineResult.No(Refusal.WrongMarket, $"reading is for market '{r.Market}'");
        if (!_meterOwner.ContainsKey(meter)) return EngineResult.No(Refusal.NotOracle, $"{meter} is not a registered meter");
        if (!skipSignatureCheck && Addr.Recover(r.Digest(), sr.Signature) != meter) return EngineResult.No(Refusal.BadSignature, "the reading is not signed by the meter's key");
        if (r.IntervalStart % Rules.IntervalSeconds != 0) return EngineResult.No(Refusal.Misaligned, "the interval start is not on an interval boundary");
        if (_readings.TryGetValue((meter, r.IntervalStart), out var old))
        {
            if (old == r.EnergyWh) return EngineResult.No(Refusal.DuplicateReading, "identical reading already accepted (no change)");
            _conflicts.Add($"meter {meter} interval {r.IntervalStart}: kept {old} Wh, refused {r.EnergyWh} Wh");
            return EngineResult.No(Refusal.ConflictingReading, $"a different reading ({old} Wh) was already accepted; kept it");
        }
        if (now < Rules.IntervalEnd(r.IntervalStart)) return EngineResult.No(Refusal.TooEarly, "the interval is not over yet");
        if (now >= Rules.Deadline(r.IntervalStart)) return EngineResult.No(Refusal.Late, "the settlement deadline of the interval has passed");
        _readings[(meter, r.IntervalStart)] = r.EnergyWh;
        return EngineResult.Ok();
    }

    /// <summary>
    /// Moves the clock to <paramref name="now"/>: every open (interval, seller) group whose interval is over and
    /// whose seller's meter has reported is settled; every group without a reading at its deadline is refunded.
    /// </summary>
    public IReadOnlyList<Posting> Advance(long now)
    {
        var done = new List<(long, string)>();
        var postings = new List<Posting>();
        foreach (var (key, group) in _openGroups)
        {
            var (interval, seller) = key;
            if (now < Rules.IntervalEnd(interval)) continue;
            if (_readings.TryGetValue((_ownerMeter[seller], interval), out var delivered))
                SettleGroup(interval, group, delivered, now, postings);
            else if (now >= Rules.Deadline(interval))
                foreach (var t in group) postings.Add(Refund(t, now));
            else continue;
            done.Add(key);
        }
        foreach (var k in done) _openGroups.Remove(k);
        return postings;
    }

    private void SettleGroup(long interval, List<TradeRecord> group, long delivered, long now, List<Posting> postings)
    {
        group.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        long price = ImbalancePrice(interval);
        long remaining = delivered;
        for (int i = 0; i < group.Count; i++)
        {
            var t = group[i];
            var c = t.Commitment;
            long m = Math.Min(c.QuantityWh, remaining);
            remaining -= m;
            long shortfall = c.QuantityWh - m;
            long excess = i == group.Count - 1 ? remaining : 0;
            long pay = Money.Amount(c.PricePerMWh, m);
            long refund = t.Escrow - pay;
            long charge = Money.Amount(price, shortfall);
            long credit = Money.Amount(price, excess);
            long loss = checked(m * Rules.LossPpm) / 1_000_000;

            var posting = SettlePosting(t.Id, c.Buyer, c.Seller, t.Collateral, new SettleAmounts(m, shortfall, excess, loss, pay, refund, charge, credit), now);

            t.State = TradeState.Settled;
            t.DeliveredWh = m;
            t.ShortfallWh = shortfall;
            t.ExcessWh = excess;
            t.SellerPaid = pay;
            t.BuyerRefund = refund;
            t.ImbalancePrice = price;
            t.ImbalanceAmount = credit - charge;
            postings.Add(t.Settlement = Apply(posting).Postings[0]);
        }
    }

    /// <summary>
    /// Posts a settled trade's carbon adjustment (docs/carbon.md): the buyer's and seller's grams of CO₂ against the community's
    /// carbon account, and the carbon money (+ = a charge paid into the carbon account, − = a credit paid out of it) from and to
    /// their available balances. One adjustment per trade (key carbon:ID); refused when a charge exceeds an available balance.
    /// </summary>
    public EngineResult PostCarbon(CarbonAdjustment a, long now)
    {
        var r = PostCarbon(a, now, out var posting, out var message);
        return r == Refusal.None ? EngineResult.Ok(posting!) : EngineResult.No(r, message!);
    }

    /// <summary>
    /// Posts many carbon adjustments in order, each exactly as <see cref="PostCarbon(CarbonAdjustment, long)"/> would (same checks
    /// in the same order, same posting, same balances; a refused one changes nothing and the next still sees every earlier
    /// one). The accepted postings are appended to <paramref name="posted"/>; returns per adjustment its refusal
    /// (<see cref="Refusal.None"/> when posted). The settlement run's carbon step posts 100 000s of them: no result object
    /// per adjustment.
    /// </summary>
    public Refusal[] PostCarbonBatch(IReadOnlyList<CarbonAdjustment> adjustments, long now, List<Posting> posted)
    {
        var result = new Refusal[adjustments.Count];
        for (int i = 0; i < result.Length; i++)
            if ((result[i] = PostCarbon(adjustments[i], now, out var p, out _)) == Refusal.None) posted.Add(p!);
        return result;
    }

    /// <summary>
    /// Applies many carbon adjustments in order exactly as <see cref="PostCarbonBatch(IReadOnlyList{CarbonAdjustment}, long, List{Posting})"/>
    /// does (same checks in the same order, same balances, same refusals) but makes no posting: the trades of the accepted ones are
    /// appended to <paramref name="applied"/>, and <see cref="CarbonPosting(TradeRecord)"/> or <see cref="FoldCarbon"/> make their
    /// postings when they are needed. The settlement run's carbon step: its carbon:ID postings are folded into the trades'
    /// settle:ID entries, so making them (a key string, a posting, a map entry each) only to fold them away is not needed.
    /// </summary>
    public Refusal[] ApplyCarbonBatch(IReadOnlyList<CarbonAdjustment> adjustments, long now, List<TradeRecord> applied)
    {
        var result = new Refusal[adjustments.Count];
        for (int i = 0; i < result.Length; i++)
            if ((result[i] = ApplyCarbon(adjustments[i], now, out var t, out _)) == Refusal.None) applied.Add(t!);
        return result;
    }

    /// <summary>The carbon step proper: the checks, the posting and the balances of one adjustment (the posting when accepted, else the refusal's message).</summary>
    internal Refusal PostCarbon(CarbonAdjustment a, long now, out Posting? posting, out string? message)
    {
        var r = ApplyCarbon(a, now, out var t, out message);
        posting = r == Refusal.None ? CarbonPosting(t!) : null;
        return r;
    }

    /// <summary>
    /// The carbon:ID posting of a trade whose adjustment this engine applied (the same posting <see cref="PostCarbon(CarbonAdjustment, long)"/>
    /// returned or would have returned: key, kind, time and lines).
    /// </summary>
    public Posting CarbonPosting(TradeRecord t)
    {
        if (t.Carbon is not { } a || !_trades.TryGetValue(t.Id, out var mine) || !ReferenceEquals(mine, t))
            throw new ArgumentException($"trade {t.Id} has no carbon adjustment on this engine");
        return new Posting("carbon:" + t.Id, "carbon", t.CarbonTime, t.CarbonLines!);
    }

    /// <summary>
    /// The journal <paramref name="postings"/> followed by the carbon:ID postings of <paramref name="applied"/> (trades whose adjustments
    /// this engine applied, in that order), folded by <see cref="CarbonFold.FoldAll"/> — the same list, key for key and line for line —
    /// without making the carbon postings that are folded: each trade's carbon lines are appended to its settle:ID posting (the
    /// engine's own object, found by reference, no key made or hashed). A carbon posting that is not folded (no settlement in
    /// <paramref name="postings"/>, <paramref name="intoSettle"/> refuses it, or money without grams) is made and follows the
    /// postings as it would in the joined list. When <paramref name="postings"/> holds a foldable carbon:ID of its own, this is
    /// <see cref="CarbonFold.FoldAll"/> of the joined list.
    /// </summary>
    public List<Posting> FoldCarbon(IReadOnlyList<Posting> postings, IReadOnlyList<TradeRecord> applied, Func<string, bool>? intoSettle = null)
    {
        // the foldable ones by their settlement (reference identity: the engine's settle:ID object of the trade)
        var slotOf = new Dictionary<Posting, int>(applied.Count, ReferenceEqualityComparer.Instance);
        for (int k = 0; k < applied.Count; k++)
        {
            var t = applied[k];
            if (t.Carbon is not { } a) throw new ArgumentException($"trade {t.Id} has no carbon adjustment");
            // foldable (CarbonFold.Foldable): no lines at all, or the first line is CO₂ (there are grams)
            bool foldable = a.BuyerGrams != 0 || a.SellerGrams != 0 || (a.BuyerMoney == 0 && a.SellerMoney == 0);
            if (foldable && t.Settlement is { } s) slotOf.TryAdd(s, k);
        }
        var folded = new bool[applied.Count];
        var result = new List<Posting>(postings.Count + applied.Count);
        for (int i = 0; i < postings.Count; i++)
        {
            var p = postings[i];
            if (p.Kind == "carbon")
            {
                if (CarbonFold.Foldable(p)) return CarbonFold.FoldAll([.. postings, .. applied.Select(CarbonPosting)], intoSettle);
                result.Add(p);
                continue;
            }
            if (slotOf.Count > 0 && p.Kind == "settle" && slotOf.TryGetValue(p, out int k) && (intoSettle is null || intoSettle(applied[k].Id)))
            {
                // p is the engine's settle:ID of the trade (SettlePosting: money and Wh lines only, so no carbon lines yet)
                var lines = applied[k].CarbonLines!;
                result.Add(lines.Count == 0 ? p : new Posting(p.Key, p.Kind, p.Time, new CarbonFold.Joined(p.Lines, lines)));
                folded[k] = true;
            }
            else result.Add(p);
        }
        for (int k = 0; k < applied.Count; k++)
            if (!folded[k]) result.Add(CarbonPosting(applied[k]));
        return result;
    }

    /// <summary>The checks and the balances of one adjustment; when accepted, the trade records it (<see cref="TradeRecord.Carbon"/>, its time) and is returned.</summary>
    internal Refusal ApplyCarbon(CarbonAdjustment a, long now, out TradeRecord? trade, out string? message)
    {
        trade = null;
        message = null;
        if (!_trades.TryGetValue(a.TradeId, out var t)) { message = $"trade {a.TradeId} is not known"; return Refusal.InvalidFields; }
        if (t.State != TradeState.Settled) { message = $"trade {a.TradeId} is not settled"; return Refusal.TooEarly; }
        if (t.Carbon is not null) { message = $"trade {a.TradeId} already has its carbon adjustment"; return Refusal.Replay; }
        var c = t.Commitment;
        var (buyer, seller) = (CarbonParty(c.Buyer), CarbonParty(c.Seller));
        long buyerAvailable = Find(ref buyer.AvailableCell, buyer.Available, Commodity.Money);
        long sellerAvailable = Find(ref seller.AvailableCell, seller.Available, Commodity.Money);
        if (a.BuyerMoney > 0 && buyerAvailable < a.BuyerMoney)
        {
            message = $"the buyer needs {a.BuyerMoney} available for the carbon charge";
            return Refusal.InsufficientFunds;
        }
        if (a.SellerMoney > 0 && sellerAvailable < a.SellerMoney)
        {
            message = $"the seller needs {a.SellerMoney} available for the carbon charge";
            return Refusal.InsufficientFunds;
        }
        // the lines (zero amounts make none), a CarbonLineList rather than an array per adjustment; balanced by construction: per commodity
        // the carbon account's line is the checked negation of the two parties' sum, so an amount that does not fit throws here,
        // before anything is written
        var lines = new CarbonLineList(buyer, seller, a);
        long bg = a.BuyerGrams, sg = a.SellerGrams, bm = a.BuyerMoney, sm = a.SellerMoney;
        long cg = checked(-(bg + sg)), cm = checked(bm + sm);
        // Apply's rules without its general map: the six (account, commodity) pairs are distinct (buyer ≠ seller) and the only
        // balances they lower are the available money checked above and system:carbon (unlimited credit line). The balances are
        // cells cached per participant (no key lookup per line); all sums are computed (checked) before any is written, so an
        // overflow changes nothing. A zero amount touches no balance (as it makes no line).
        long nbg = bg == 0 ? 0 : checked(Find(ref buyer.Co2Cell, buyer.Co2, Commodity.Co2Grams) + bg);
        long nsg = sg == 0 ? 0 : checked(Find(ref seller.Co2Cell, seller.Co2, Commodity.Co2Grams) + sg);
        long ncg = cg == 0 ? 0 : checked(Find(ref _carbonGrams, Carbon, Commodity.Co2Grams) + cg);
        long nbm = bm == 0 ? 0 : checked(buyerAvailable - bm);
        long nsm = sm == 0 ? 0 : checked(sellerAvailable - sm);
        long ncm = cm == 0 ? 0 : checked(Find(ref _carbonMoney, Carbon, Commodity.Money) + cm);
        if (bg != 0) Cell(ref buyer.Co2Cell, buyer.Co2, Commodity.Co2Grams).Value = nbg;
        if (sg != 0) Cell(ref seller.Co2Cell, seller.Co2, Commodity.Co2Grams).Value = nsg;
        if (cg != 0) Cell(ref _carbonGrams, Carbon, Commodity.Co2Grams).Value = ncg;
        if (bm != 0) Cell(ref buyer.AvailableCell, buyer.Available, Commodity.Money).Value = nbm;
        if (sm != 0) Cell(ref seller.AvailableCell, seller.Available, Commodity.Money).Value = nsm;
        if (cm != 0) Cell(ref _carbonMoney, Carbon, Commodity.Money).Value = ncm;
        t.Carbon = a;
        t.CarbonTime = now;
        t.CarbonLines = lines;
        trade = t;
        return Refusal.None;
    }

    /// <summary>
    /// The lines of a carbon adjustment — buyer's and seller's CO₂ grams, the community carbon account's grams, the buyer's and
    /// seller's available money, the carbon account's money, in that order, zero amounts left out — kept as the parties' account
    /// names and the four amounts: 72 bytes instead of an array of up to six lines (160 bytes), for each of 100 000s of settled
    /// trades. <see cref="CarbonPosting"/> copies them into an array.
    /// </summary>
    private sealed class CarbonLineList : IReadOnlyList<Line>
    {
        private readonly CarbonAccounts _buyer, _seller;
        private readonly long _bg, _sg, _bm, _sm;
        private readonly byte _present, _count; // bit k: line k of the six is there (its amount is not 0)

        public CarbonLineList(CarbonAccounts buyer, CarbonAccounts seller, CarbonAdjustment a)
        {
            (_buyer, _seller, _bg, _sg, _bm, _sm) = (buyer, seller, a.BuyerGrams, a.SellerGrams, a.BuyerMoney, a.SellerMoney);
            // checked: an amount whose line does not fit in a long throws here
            long cg = checked(-(_bg + _sg)), bm = checked(-_bm), sm = checked(-_sm), cm = checked(_bm + _sm);
            int present = (_bg != 0 ? 1 : 0) | (_sg != 0 ? 2 : 0) | (cg != 0 ? 4 : 0) | (bm != 0 ? 8 : 0) | (sm != 0 ? 16 : 0) | (cm != 0 ? 32 : 0);
            _present = (byte)present;
            _count = (byte)System.Numerics.BitOperations.PopCount((uint)present);
        }

        public int Count => _count;

        public Line this[int index]
        {
            get
            {
                if ((uint)index >= _count) throw new ArgumentOutOfRangeException(nameof(index));
                for (int k = 0; ; k++)
                    if ((_present & (1 << k)) != 0 && index-- == 0) return Candidate(k);
            }
        }

        private Line Candidate(int k) => k switch
        {
            0 => new(_buyer.Co2, Commodity.Co2Grams, _bg),
            1 => new(_seller.Co2, Commodity.Co2Grams, _sg),
            2 => new(Carbon, Commodity.Co2Grams, -(_bg + _sg)),
            3 => new(_buyer.Available, Commodity.Money, -_bm),
            4 => new(_seller.Available, Commodity.Money, -_sm),
            _ => new(Carbon, Commodity.Money, _bm + _sm),
        };

        public IEnumerator<Line> GetEnumerator()
        {
            for (int k = 0; k < 6; k++)
                if ((_present & (1 << k)) != 0) yield return Candidate(k);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A participant's available and CO₂ account names, made once, and their balance cells once they exist.</summary>
    private sealed class CarbonAccounts(string available, string co2)
    {
        public readonly string Available = available, Co2 = co2;
        public BalanceCell? AvailableCell, Co2Cell;
    }

    private readonly Dictionary<string, CarbonAccounts> _carbonAccounts = new(StringComparer.Ordinal);
    private BalanceCell? _carbonGrams, _carbonMoney;

    private CarbonAccounts CarbonParty(string participant)
    {
        ref var names = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_carbonAccounts, participant, out _);
        return names ??= new CarbonAccounts(Available(participant), Co2(participant));
    }

    /// <summary>The balance of a cached cell; an account not in the map yet reads 0 and is not added (reading adds no key).</summary>
    private long Find(ref BalanceCell? cached, string account, Commodity c)
    {
        if (cached is null) _bal.TryGetValue((account, c), out cached);
        return cached?.Value ?? 0;
    }

    /// <summary>The cell of an account for writing (added to the map when it is not there yet).</summary>
    private BalanceCell Cell(ref BalanceCell? cached, string account, Commodity c)
    {
        if (cached is not null) return cached;
        ref var cell = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_bal, (account, c), out _);
        return cached = cell ??= new BalanceCell();
    }

    private Posting Refund(TradeRecord t, long now)
    {
        var c = t.Commitment;
        var p = RefundPosting(t.Id, c.Buyer, c.Seller, t.Escrow, t.Collateral, now);
        t.State = TradeState.Refunded;
        t.BuyerRefund = t.Escrow;
        return Apply(p).Postings[0];
    }

    // The postings of the rules, one builder per state change. The engine posts them; the chain importer
    // (OpenTE.Settlement.Ethereum.ChainAudit) rebuilds them from the contract's events with the same builders,
    // so both ledgers hold the same accounts, amounts and commodities. Zero amounts make no line.

    /// <summary>The idempotency key of the n-th deposit (1-based, in submission order) of a market.</summary>
    public static string DepositKey(long n, string participant) => $"deposit:{n}:{Addr.Normalize(participant)}";

    /// <summary>The idempotency key of the n-th withdrawal (1-based) of a market.</summary>
    public static string WithdrawKey(long n, string participant) => $"withdraw:{n}:{Addr.Normalize(participant)}";

    public static Posting DepositPosting(string key, string participant, long amount, long now) =>
        new(key, "deposit", now, [new(Deposits, Commodity.Money, -amount), new(Available(participant), Commodity.Money, amount)]);

    public static Posting WithdrawPosting(string key, string participant, long amount, long now) =>
        new(key, "withdraw", now, [new(Available(participant), Commodity.Money, -amount), new(Deposits, Commodity.Money, amount)]);

    public static Posting OpenPosting(string id, string buyer, string seller, long escrow, long collateral, long now)
    {
        var lines = new List<Line>(4);
        Move(lines, Available(buyer), EscrowAccount(buyer), Commodity.Money, escrow);
        Move(lines, Available(seller), CollateralAccount(seller), Commodity.Money, collateral);
        return new Posting("open:" + id, "open", now, lines);
    }

    public static Posting SettlePosting(string id, string buyer, string seller, long collateral, SettleAmounts a, long now)
    {
        var lines = new List<Line>(18);
        Move(lines, EscrowAccount(buyer), Available(seller), Commodity.Money, a.Pay);
        Move(lines, EscrowAccount(buyer), Available(buyer), Commodity.Money, a.Refund);
        Move(lines, CollateralAccount(seller), Imbalance, Commodity.Money, a.Charge);
        Move(lines, CollateralAccount(seller), Available(seller), Commodity.Money, checked(collateral - a.Charge));
        Move(lines, Imbalance, Available(seller), Commodity.Money, a.Credit);
        Move(lines, Energy(seller), Energy(buyer), Commodity.EnergyWh, checked(a.DeliveredWh - a.LossWh));
        Move(lines, Energy(seller), Losses, Commodity.EnergyWh, a.LossWh);
        Move(lines, Imbalance, Energy(buyer), Commodity.EnergyWh, a.ShortfallWh);
        Move(lines, Energy(seller), Imbalance, Commodity.EnergyWh, a.ExcessWh);
        return new Posting("settle:" + id, "settle", now, lines);
    }

    public static Posting RefundPosting(string id, string buyer, string seller, long escrow, long collateral, long now)
    {
        var lines = new List<Line>(4);
        Move(lines, EscrowAccount(buyer), Available(buyer), Commodity.Money, escrow);
        Move(lines, CollateralAccount(seller), Available(seller), Commodity.Money, collateral);
        return new Posting("refund:" + id, "refund", now, lines);
    }

    /// <summary>The carbon adjustment of a trade: grams and money of buyer and seller against <see cref="Carbon"/> (signed; zero amounts make no line).</summary>
    public static Posting CarbonPosting(string id, string buyer, string seller, CarbonAdjustment a, long now) =>
        new("carbon:" + id, "carbon", now, [.. new CarbonLineList(new CarbonAccounts(Available(buyer), Co2(buyer)), new CarbonAccounts(Available(seller), Co2(seller)), a)]);

    private static void Move(List<Line> lines, string from, string to, Commodity c, long amount)
    {
        if (amount == 0) return;
        if (amount < 0) throw new InvalidOperationException("internal: negative transfer");
        lines.Add(new Line(from, c, -amount));
        lines.Add(new Line(to, c, amount));
    }

    private readonly Dictionary<(string, Commodity), long> _next = [];

    private EngineResult Apply(Posting p)
    {
        if (!p.IsBalanced) throw new InvalidOperationException($"internal: unbalanced posting {p.Key}");
        var next = _next; // one scratch map, cleared per posting (the engine is single-threaded)
        next.Clear();
        foreach (var l in p.Lines)
            next[(l.Account, l.Commodity)] = checked(next.GetValueOrDefault((l.Account, l.Commodity), Balance(l.Account, l.Commodity)) + l.Amount);
        foreach (var ((acct, c), nb) in next)
            if (c == Commodity.Money && nb < 0 && CreditLine(acct) != long.MaxValue && -nb > CreditLine(acct))
                throw new InvalidOperationException($"internal: {acct} would go below its credit line");
        foreach (var (k, v) in next)
        {
            ref var cell = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_bal, k, out _);
            (cell ??= new BalanceCell()).Value = v;
        }
        return EngineResult.Ok(p);
    }

    private sealed class BalanceCell
    {
        public long Value;
    }

    /// <summary>The balances as a read-only map (account, commodity) → amount, over the cells.</summary>
    private sealed class BalanceView(Dictionary<(string, Commodity), BalanceCell> cells) : IReadOnlyDictionary<(string Account, Commodity Commodity), long>
    {
        public long this[(string Account, Commodity Commodity) key] => cells[key].Value;
        public IEnumerable<(string Account, Commodity Commodity)> Keys => cells.Keys;
        public IEnumerable<long> Values => cells.Values.Select(c => c.Value);
        public int Count => cells.Count;
        public bool ContainsKey((string Account, Commodity Commodity) key) => cells.ContainsKey(key);

        public bool TryGetValue((string Account, Commodity Commodity) key, out long value)
        {
            bool found = cells.TryGetValue(key, out var cell);
            value = found ? cell!.Value : 0;
            return found;
        }

        public IEnumerator<KeyValuePair<(string Account, Commodity Commodity), long>> GetEnumerator()
        {
            foreach (var (k, c) in cells) yield return new(k, c.Value);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
