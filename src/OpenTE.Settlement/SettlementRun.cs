using OpenTE.Settlement.Ledger;
using OpenTE.Grid.Input;
using OpenTE.Market.Carbon;

namespace OpenTE.Settlement;

/// <summary>A trade's outcome; with carbon (docs/carbon.md) its change of emissions in grams CO₂ and its carbon money (+ = charge, − = credit).</summary>
public sealed record TradeOutcome(int Line, string Id, string Status, string? Reason, long QuantityWh, long DeliveredWh,
    long SellerPaid, long BuyerRefund, long ImbalanceAmount, long Co2Grams = 0, long CarbonMoney = 0);

public sealed record ReadingOutcome(int Line, string Meter, long IntervalStart, string Status, string? Reason);

/// <summary>A participant's balances; <see cref="Co2Grams"/> its account of grams CO₂ from carbon adjustments and <see cref="CarbonMoney"/> what it paid (+) or received (−) for them.</summary>
public sealed record ParticipantBalance(string Participant, long Available, long Escrow, long Collateral, long EnergyWh, long Co2Grams = 0, long CarbonMoney = 0);

public sealed record SettleReport(
    string Market, int Trades, int Opened, int Refused, int Settled, int Refunded, int StillOpen,
    int Readings, int ReadingsAccepted, int ReadingsDuplicate, int ReadingsConflicting, int ReadingsRefused,
    int Postings, int NewPostings, long LedgerEntries, string? LedgerHead,
    IReadOnlyList<TradeOutcome> TradeOutcomes, IReadOnlyList<ReadingOutcome> ReadingOutcomes,
    IReadOnlyList<string> Conflicts, IReadOnlyList<ParticipantBalance> Balances, long MoneyTotal, long EnergyTotal, string Backend = "embedded")
{
    /// <summary>Carbon adjustments were computed (a carbon file was given).</summary>
    public bool Carbon { get; init; }
    /// <summary>Σ grams CO₂ over all accounts (0: every carbon posting is balanced against system:carbon).</summary>
    public long Co2Total { get; init; }
    /// <summary>The community carbon account: grams (− the emissions it carries) and money (+ = net charges collected).</summary>
    public long CarbonAccountGrams { get; init; }
    public long CarbonAccountMoney { get; init; }
    /// <summary>Trades whose carbon adjustment was refused (e.g. a charge above the available balance), with the reason.</summary>
    public IReadOnlyList<(string Id, string Reason)> CarbonRefused { get; init; } = [];
}

/// <summary>
/// Settles a trades file against a meter-data file: the files are replayed on the engine's clock —
/// deposits and commitments at <c>openAt</c> (default: one second before the earliest interval),
/// each reading at its interval's end, then the clock moves to <c>at</c> — and the postings go to the
/// ledger in batches. Re-running with the same files posts nothing twice (idempotency keys).
/// </summary>
public static class SettlementRun
{
    /// <summary>Settles on the embedded engine (see the overload).</summary>
    public static SettleReport Run(string tradesPath, string readingsPath, MarketFile market, string? ledgerPath, long at, long? openAt = null, int batchSize = 1000,
        KeyPair? ledgerSigner = null, CarbonData? carbon = null) =>
        Run(tradesPath, readingsPath, market, (r, _) => new EmbeddedBackend(r), ledgerPath, at, openAt, batchSize, ledgerSigner, carbon);

    /// <summary>
    /// Settles on the backend that <paramref name="backend"/> makes for the market's rules and the replay's first
    /// engine time (after the input files
    /// have been read, so a bad file fails before anything is deployed). The backend is disposed at the end. The
    /// ledger receives the backend's postings (<see cref="ISettlementBackend.Postings"/>) in batches.
    /// <para>The ledger decides (issue #23): a trade that is settled or refunded in the ledger keeps that outcome — a
    /// reading that arrives after the trade was refunded is reported as <c>late</c>, a corrected reading of a settled
    /// interval as <c>conflict</c>, neither is posted — and the report (trade outcomes, balances, totals) is read back
    /// from the ledger's postings, so it shows what the ledger holds. Without a ledger it is read from this run's
    /// postings. With <paramref name="ledgerSigner"/> every write batch ends with the operator's signed checkpoint.</para>
    /// </summary>
    public static SettleReport Run(string tradesPath, string readingsPath, MarketFile market, Func<MarketRules, long, ISettlementBackend> backend,
        string? ledgerPath, long at, long? openAt = null, int batchSize = 1000, KeyPair? ledgerSigner = null, CarbonData? carbon = null)
    {
        var trades = SettlementCsv.ReadTrades(tradesPath);
        var readings = SettlementCsv.ReadReadings(readingsPath);
        if (carbon is not null) CheckCarbonCoverage(tradesPath, trades, carbon);
        long t0 = openAt ?? (trades.Count == 0 ? 0 : trades.Min(t => t.Trade.Commitment.IntervalStart) - 1);
        using var be = backend(market.Rules, t0);
        foreach (var m in market.Meters)
        {
            try
            {
                be.RegisterMeter(m.Meter, m.Owner);
            }
            catch (InvalidOperationException e)
            {
                throw new OpenTE.Grid.Input.InputException("market file", 0, e.Message, "one meter per participant and one owner per meter");
            }
        }
        foreach (var p in market.ImbalancePrices)
        {
            SettlementCsv.TryTime(p.Interval, out var iv);
            be.SetImbalancePrice(iv, p.Price);
        }
        var participants = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var d in market.Deposits)
            if (be.Deposit(d.Participant, d.Amount, t0) == Refusal.None) participants.Add(Addr.Normalize(d.Participant));
        var refused = new Dictionary<int, (string Id, string Reason, long Q)>();
        foreach (var (line, sc) in trades)
        {
            var r = be.Open(sc, t0);
            string id;
            try { id = sc.Commitment.Id; } catch (ArgumentException) { id = ""; }
            if (r == Refusal.None)
            {
                participants.Add(Addr.Normalize(sc.Commitment.Buyer));
                participants.Add(Addr.Normalize(sc.Commitment.Seller));
            }
            else refused[line] = (id, $"{r}: {be.LastRefusalDetail ?? Explain(r)}", sc.Commitment.QuantityWh);
        }
        var readingOutcomes = new List<ReadingOutcome>();
        var conflicts = new List<string>();
        foreach (var (line, sr) in readings.OrderBy(x => x.Reading.Reading.IntervalStart).ThenBy(x => x.Line))
        {
            var when = market.Rules.IntervalEnd(sr.Reading.IntervalStart);
            if (when > at)
            {
                readingOutcomes.Add(new(line, sr.Reading.Meter, sr.Reading.IntervalStart, "not-yet", "the interval ends after --at"));
                continue;
            }
            var r = be.PostReading(sr, Math.Max(when, t0));
            var status = r switch
            {
                Refusal.None => "accepted", Refusal.DuplicateReading => "duplicate", Refusal.ConflictingReading => "conflict", _ => "refused",
            };
            if (r == Refusal.ConflictingReading) conflicts.Add($"meter {Addr.Normalize(sr.Reading.Meter)} interval {sr.Reading.IntervalStart}: refused {sr.Reading.EnergyWh} Wh");
            readingOutcomes.Add(new(line, sr.Reading.Meter, sr.Reading.IntervalStart, status, r == Refusal.None ? null : $"{r}: {be.LastRefusalDetail ?? Explain(r)}"));
        }
        readingOutcomes.Sort((a, b) => a.Line.CompareTo(b.Line));
        be.Advance(Math.Max(at, t0));
        var carbonRefused = carbon is null ? [] : PostCarbon(be, trades.Where(x => !refused.ContainsKey(x.Line)).Select(x => x.Trade.Commitment), carbon, market.Rules, Math.Max(at, t0));
        // with carbon, the backend's postings with each carbon:ID folded into its settle:ID (the embedded backend does it without
        // making the carbon postings it folds); with a ledger, only where the ledger holds no final state of the trade yet
        IReadOnlyList<Posting> postings = carbon is null ? be.Postings() : [];

        int newPostings = 0;
        long entries = 0;
        string? head = null;
        var book = new Dictionary<string, Posting>(StringComparer.Ordinal);
        var held = new Dictionary<string, (string Status, string Reason)>(StringComparer.Ordinal);
        Dictionary<(string Account, Commodity Commodity), long> ledgerBalances;
        // every trade of the files, also the ones refused now (a rerun against a contract refuses them as Replay): the
        // ledger may know them from an earlier run
        var ids = trades.Select(x => refused.TryGetValue(x.Line, out var rf) ? rf.Id : x.Trade.Commitment.Id).Where(id => id.Length > 0).Distinct().ToList();
        if (ledgerPath is not null)
        {
            using var ledger = SqliteLedger.Open(ledgerPath, signer: ledgerSigner);
            // a trade's carbon adjustment goes into its settle entry when the ledger holds no final state of the trade yet
            if (carbon is not null)
                postings = be.FoldedPostings(id => ledger.Get("settle:" + id) is null && ledger.Get("refund:" + id) is null);
            var toPost = new List<Posting>();
            foreach (var p in postings)
            {
                var existing = ledger.Get(p.Key);
                if (p.Kind is "settle" or "refund")
                {
                    var id = p.Key[(p.Kind.Length + 1)..];
                    var final = existing ?? ledger.Get((p.Kind == "settle" ? "refund:" : "settle:") + id);
                    if (final is not null)
                    {
                        // compared without carbon lines: a settlement written with its carbon is the same settlement
                        if (!SameContent(CarbonFold.WithoutCarbon(final), CarbonFold.WithoutCarbon(p))) held[id] = Held(final, p);
                        continue;
                    }
                }
                else if (p.Kind == "carbon" && p.Lines.Count == 0) continue; // an adjustment of 0 g has no lines: nothing to write
                else
                {
                    // carbon:ID may be in the ledger on its own or folded into its trade's settle entry
                    var folded = existing is null && p.Kind == "carbon" && ledger.Get("settle:" + p.Key[7..]) is { } s && CarbonFold.CarbonStart(s) < s.Lines.Count ? s : null;
                    if (existing is not null || folded is not null)
                    {
                        if (!(existing is not null ? SameContent(existing, p) : CarbonFold.CarbonLines(folded!).SequenceEqual(p.Lines)))
                            throw new OpenTE.Grid.Input.InputException(ledgerPath, 0, $"the ledger holds '{p.Key}' with other amounts than this run gives it",
                                "the market rules, deposits or carbon data changed since the ledger was written: use the original files or a new ledger");
                        continue;
                    }
                }
                toPost.Add(p);
            }
            for (int i = 0; i < toPost.Count; i += batchSize)
                newPostings += ledger.PostBatch([.. toPost.Skip(i).Take(batchSize)]);
            entries = ledger.Count;
            head = ledger.HeadHash;
            foreach (var id in ids)
                foreach (var k in new[] { "open:", "settle:", "refund:", "carbon:" })
                    if (ledger.Get(k + id) is { } p) book[p.Key] = p;
            ledgerBalances = ledger.AllBalances();
        }
        else
        {
            ledgerBalances = [];
            if (carbon is not null) postings = be.FoldedPostings();
            foreach (var p in postings)
            {
                book[p.Key] = p;
                foreach (var l in p.Lines) ledgerBalances[(l.Account, l.Commodity)] = checked(ledgerBalances.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount);
            }
        }

        // Readings whose interval the ledger had already closed otherwise: reported, not settled.
        var meterOf = market.Meters.ToDictionary(m => Addr.Normalize(m.Owner), m => Addr.Normalize(m.Meter), StringComparer.Ordinal);
        var heldReading = new Dictionary<(string Meter, long Interval), (string Status, string Reason)>();
        foreach (var (_, sc) in trades)
            if (held.TryGetValue(sc.Commitment.Id, out var h) && meterOf.TryGetValue(Addr.Normalize(sc.Commitment.Seller), out var m))
                heldReading[(m, sc.Commitment.IntervalStart)] = h;
        for (int i = 0; i < readingOutcomes.Count; i++)
        {
            var x = readingOutcomes[i];
            if (x.Status == "accepted" && heldReading.TryGetValue((Addr.Normalize(x.Meter), x.IntervalStart), out var h))
            {
                readingOutcomes[i] = x with { Status = h.Status, Reason = h.Reason };
                if (h.Status == "conflict") conflicts.Add($"meter {Addr.Normalize(x.Meter)} interval {x.IntervalStart}: {h.Reason}");
            }
        }

        var openedNow = trades.Where(x => !refused.ContainsKey(x.Line)).Select(x => x.Trade.Commitment.Id).ToHashSet(StringComparer.Ordinal);
        var outcomes = new List<TradeOutcome>();
        foreach (var (line, sc) in trades)
        {
            // a commitment refused now (e.g. Replay against a reused contract) that the ledger holds from an earlier run is
            // reported as the ledger holds it; a second line of a trade opened in this run stays refused
            if (refused.TryGetValue(line, out var rf) && !(ledgerPath is not null && rf.Id.Length > 0 && !openedNow.Contains(rf.Id) && book.ContainsKey("open:" + rf.Id)))
            {
                outcomes.Add(new(line, rf.Id, "refused", rf.Reason, rf.Q, 0, 0, 0, 0));
                continue;
            }
            outcomes.Add(FromBook(line, sc.Commitment, book));
        }
        long G(string a, Commodity c) => ledgerBalances.GetValueOrDefault((a, c));
        var carbonMoney = CarbonMoneyByAccount(book.Values);
        var balances = participants.Select(p => new ParticipantBalance(p, G(EscrowEngine.Available(p), Commodity.Money), G(EscrowEngine.EscrowAccount(p), Commodity.Money),
            G(EscrowEngine.CollateralAccount(p), Commodity.Money), G(EscrowEngine.Energy(p), Commodity.EnergyWh), G(EscrowEngine.Co2(p), Commodity.Co2Grams),
            -carbonMoney.GetValueOrDefault(EscrowEngine.Available(p)))).ToList();
        long money = 0, energy = 0, co2 = 0;
        foreach (var ((_, c), v) in ledgerBalances)
        {
            if (c == Commodity.Money) money = checked(money + v);
            else if (c == Commodity.EnergyWh) energy = checked(energy + v);
            else co2 = checked(co2 + v);
        }
        int refusedCount = outcomes.Count(o => o.Status == "refused");
        return new SettleReport(market.Market, trades.Count, trades.Count - refusedCount, refusedCount,
            outcomes.Count(o => o.Status == "settled"), outcomes.Count(o => o.Status == "refunded"), outcomes.Count(o => o.Status == "open"),
            readings.Count, readingOutcomes.Count(r => r.Status == "accepted"), readingOutcomes.Count(r => r.Status == "duplicate"),
            readingOutcomes.Count(r => r.Status == "conflict"), readingOutcomes.Count(r => r.Status is "refused" or "not-yet" or "late"),
            postings.Count, newPostings, entries, head, outcomes, readingOutcomes, conflicts, balances, money, energy, be.Name)
        {
            Carbon = carbon is not null, Co2Total = co2, CarbonAccountGrams = G(EscrowEngine.Carbon, Commodity.Co2Grams), CarbonAccountMoney = G(EscrowEngine.Carbon, Commodity.Money),
            CarbonRefused = carbonRefused,
        };
    }

    /// <summary>Every buyer and seller of the trades needs emission data, every trade's interval an upstream rate: checked before anything is settled.</summary>
    private static void CheckCarbonCoverage(string tradesPath, List<(int Line, SignedCommitment Trade)> trades, CarbonData carbon)
    {
        string file = carbon.Source.Length > 0 ? carbon.Source : tradesPath;
        foreach (var (line, sc) in trades)
        {
            var c = sc.Commitment;
            foreach (var (who, role) in new[] { (c.Buyer, "buyer"), (c.Seller, "seller") })
                if (!carbon.Has(who))
                    throw new InputException(file, 0, $"$.participants: no emission data for {who}, the {role} of {tradesPath} line {line}",
                        "add { \"id\": \"" + who + "\", \"bus\": …, \"gco2PerKwh\": … } to the carbon file's participants", "participants");
            if (double.IsNaN(carbon.Upstream.At(c.IntervalStart)))
                throw new InputException(carbon.UpstreamSource.Length > 0 ? carbon.UpstreamSource : file, 0,
                    $"the upstream emission series starts after {SettlementCsv.Time(c.IntervalStart)}, the interval of {tradesPath} line {line}",
                    "extend the upstream series (interval,gco2_per_kwh) back to the first traded interval", "interval");
        }
    }

    /// <summary>
    /// The carbon step (docs/carbon.md): for every trade settled with energy delivered, its change of emissions for the delivered
    /// energy, priced at the carbon price and split buyer/seller, posted as carbon:ID on the backend. Returns the refused ones.
    /// </summary>
    private static List<(string Id, string Reason)> PostCarbon(ISettlementBackend be, IEnumerable<TradeCommitment> opened, CarbonData carbon, MarketRules rules, long now)
    {
        var refusedCarbon = new List<(string, string)>();
        double hours = rules.IntervalSeconds / 3600.0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var adjustments = new List<CarbonAdjustment>();
        // statuses first, then one batch of adjustments (a chain backend reads its events once and sends multicalls)
        foreach (var c in opened)
        {
            var id = c.Id;
            if (!seen.Add(id)) continue;
            var st = be.Trade(id);
            if (st is null || st.State != TradeState.Settled || st.DeliveredWh == 0) continue;
            double grams = carbon.Grams(c.Seller, c.Buyer, st.DeliveredWh / 1000.0, hours, c.IntervalStart);
            adjustments.Add(CarbonAdjustment.From(id, grams, carbon.PricePerTonne, carbon.BuyerShare));
        }
        var results = be.PostCarbonBatch(adjustments, now);
        for (int i = 0; i < adjustments.Count; i++)
            if (results[i] != Refusal.None) refusedCarbon.Add((adjustments[i].TradeId, $"{results[i]}: {Explain(results[i])}"));
        return refusedCarbon;
    }

    /// <summary>Per account, the money lines of the carbon adjustments, on their own or folded into settle entries (− = paid a charge, + = received a credit).</summary>
    private static Dictionary<string, long> CarbonMoneyByAccount(IEnumerable<Posting> book)
    {
        var d = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in book)
            foreach (var l in CarbonFold.CarbonLines(p))
                if (l.Commodity == Commodity.Money) d[l.Account] = checked(d.GetValueOrDefault(l.Account) + l.Amount);
        return d;
    }

    private static bool SameContent(Posting a, Posting b) => a.Key == b.Key && a.Kind == b.Kind && a.Lines.SequenceEqual(b.Lines);

    private static (string Status, string Reason) Held(Posting inLedger, Posting now) =>
        (inLedger.Kind, now.Kind) switch
        {
            ("refund", "settle") => ("late", "the ledger has refunded the trades of this interval (an earlier run passed the deadline without this reading): reported, not settled"),
            ("settle", "settle") => ("conflict", $"the ledger settled this interval with {Delivered(inLedger)} Wh delivered to a trade that this reading would give {Delivered(now)} Wh: the corrected reading is reported, not settled"),
            _ => ("kept", $"the ledger holds {inLedger.Key}; kept"),
        };

    private static long Delivered(Posting p)
    {
        long d = 0;
        int n = CarbonFold.CarbonStart(p);
        for (int i = 0; i + 1 < n; i += 2)
            if (p.Lines[i + 1].Commodity == Commodity.EnergyWh && p.Lines[i].Account.EndsWith(":energy", StringComparison.Ordinal) && p.Lines[i + 1].Account != EscrowEngine.Imbalance)
                d = checked(d + p.Lines[i + 1].Amount);
        return d;
    }

    /// <summary>A trade's outcome read from its postings (open:ID, then settle:ID or refund:ID): the ledger is the record.</summary>
    private static TradeOutcome FromBook(int line, TradeCommitment c, Dictionary<string, Posting> book)
    {
        var id = c.Id;
        string buyer = Addr.Normalize(c.Buyer), seller = Addr.Normalize(c.Seller);
        long delivered = 0, pay = 0, refund = 0, charge = 0, credit = 0;
        string status = book.ContainsKey("open:" + id) ? "open" : "unknown";
        var final = book.GetValueOrDefault("settle:" + id) ?? book.GetValueOrDefault("refund:" + id);
        if (final is not null)
        {
            status = final.Kind == "settle" ? "settled" : "refunded";
            int n = CarbonFold.CarbonStart(final); // the settlement's own lines (a folded carbon adjustment follows them)
            for (int i = 0; i + 1 < n; i += 2)
            {
                string from = final.Lines[i].Account, to = final.Lines[i + 1].Account;
                long a = final.Lines[i + 1].Amount;
                if (final.Lines[i + 1].Commodity == Commodity.Money)
                {
                    if (from == EscrowEngine.EscrowAccount(buyer) && to == EscrowEngine.Available(seller)) pay += a;
                    else if (from == EscrowEngine.EscrowAccount(buyer) && to == EscrowEngine.Available(buyer)) refund += a;
                    else if (from == EscrowEngine.CollateralAccount(seller) && to == EscrowEngine.Imbalance) charge += a;
                    else if (from == EscrowEngine.Imbalance && to == EscrowEngine.Available(seller)) credit += a;
                }
                else if (from == EscrowEngine.Energy(seller) && (to == EscrowEngine.Energy(buyer) || to == EscrowEngine.Losses)) delivered += a;
            }
        }
        long grams = 0, carbonMoney = 0;
        foreach (var cp in new[] { book.GetValueOrDefault("carbon:" + id), final })
            if (cp is not null)
                foreach (var l in CarbonFold.CarbonLines(cp))
                    if (l.Account == EscrowEngine.Carbon) { if (l.Commodity == Commodity.Co2Grams) grams -= l.Amount; else carbonMoney += l.Amount; }
        return new TradeOutcome(line, id, status, null, c.QuantityWh, delivered, pay, refund, checked(credit - charge), grams, carbonMoney);
    }

    /// <summary>One sentence per refusal (the same on every backend: a contract reports only the error's name).</summary>
    public static string Explain(Refusal r) => r switch
    {
        Refusal.None => "ok",
        Refusal.InvalidFields => "a field is invalid (address, quantity > 0, price, interval and expiry ≥ 0, buyer ≠ seller)",
        Refusal.WrongMarket => "the commitment or reading is for another market",
        Refusal.BadBuyerSignature => "the buyer's signature does not match the commitment",
        Refusal.BadSellerSignature => "the seller's signature does not match the commitment",
        Refusal.Expired => "the commitment expired before it was submitted",
        Refusal.GateClosed => "the interval has started (gate closed)",
        Refusal.Replay => "the trade was already submitted",
        Refusal.NonceReused => "the nonce was already used by the buyer or the seller",
        Refusal.Overflow => "price × quantity does not fit in 64 bits",
        Refusal.InsufficientBuyerFunds => "the buyer has not enough available for the escrow",
        Refusal.InsufficientSellerCollateral => "the seller has not enough available as collateral",
        Refusal.SellerHasNoMeter => "the seller has no registered meter",
        Refusal.NotOracle => "the meter is not registered",
        Refusal.BadSignature => "the reading is not signed by the meter's key",
        Refusal.Misaligned => "the interval start is not on an interval boundary",
        Refusal.TooEarly => "the interval is not over yet",
        Refusal.Late => "the settlement deadline of the interval has passed",
        Refusal.ConflictingReading => "a different reading was already accepted; kept it",
        Refusal.DuplicateReading => "identical reading already accepted (no change)",
        Refusal.InsufficientFunds => "the amount exceeds the available balance",
        _ => r.ToString(),
    };

    /// <summary>Per participant balances read back from a ledger file (all accounts of the participant, by kind).</summary>
    public static IReadOnlyList<ParticipantBalance> LedgerBalances(string ledgerPath, string? participant = null)
    {
        var b = SqliteLedger.Balances(ledgerPath);
        var ps = b.Keys.Select(k => k.Account).Select(a => a.Contains(':') ? a[..a.IndexOf(':')] : a).Distinct().Order(StringComparer.Ordinal)
            .Where(p => participant is null || string.Equals(p, participant, StringComparison.OrdinalIgnoreCase)).ToList();
        long G(string a, Commodity c) => b.GetValueOrDefault((a, c));
        return ps.Select(p => p == "system"
            ? new ParticipantBalance(p, G(EscrowEngine.Deposits, Commodity.Money) + G(EscrowEngine.Imbalance, Commodity.Money) + G(EscrowEngine.Carbon, Commodity.Money), 0, 0,
                G(EscrowEngine.Imbalance, Commodity.EnergyWh) + G(EscrowEngine.Losses, Commodity.EnergyWh), G(EscrowEngine.Carbon, Commodity.Co2Grams))
            : new ParticipantBalance(p, G(EscrowEngine.Available(p), Commodity.Money), G(EscrowEngine.EscrowAccount(p), Commodity.Money),
                G(EscrowEngine.CollateralAccount(p), Commodity.Money), G(EscrowEngine.Energy(p), Commodity.EnergyWh), G(EscrowEngine.Co2(p), Commodity.Co2Grams))).ToList();
    }
}

/// <summary>Signed sample data: participants, meters, trades, readings (some short, some long, one missing), for examples, tests and benchmarks.</summary>
public static class SampleData
{
    public sealed record Set(MarketFile Market, List<KeyPair> Participants, List<KeyPair> Meters, List<SignedCommitment> Trades, List<SignedReading> Readings);

    public static Set Generate(int participants, int trades, int seed, string market = "demo", long firstInterval = 1_780_272_000)
    {
        var rng = new Random(seed);
        var keys = Enumerable.Range(0, participants).Select(_ => KeyPair.Generate()).ToList();
        var meters = Enumerable.Range(0, participants).Select(_ => KeyPair.Generate()).ToList();
        var mf = new MarketFile { Market = market };
        for (int i = 0; i < participants; i++)
        {
            mf.Meters.Add(new() { Meter = meters[i].Address, Owner = keys[i].Address });
            mf.Deposits.Add(new() { Participant = keys[i].Address, Amount = 100_000_000 });
        }
        int intervals = Math.Max(1, trades / Math.Max(1, participants));
        for (int k = 0; k < intervals; k += 2)
            mf.ImbalancePrices.Add(new() { Interval = SettlementCsv.Time(firstInterval + 900L * k), Price = rng.Next(0, 30_000) });
        var list = new List<SignedCommitment>();
        var committed = new Dictionary<(int Seller, long Iv), long>();
        for (int n = 0; n < trades; n++)
        {
            int b = rng.Next(participants), s = (b + 1 + rng.Next(participants - 1)) % participants;
            long iv = firstInterval + 900L * rng.Next(intervals);
            long q = rng.Next(1, 5000);
            var c = new TradeCommitment(market, iv, keys[b].Address, keys[s].Address, q, rng.Next(0, 40_000), (ulong)n + 1, iv);
            list.Add(c.Sign(keys[b], keys[s]));
            committed[(s, iv)] = committed.GetValueOrDefault((s, iv)) + q;
        }
        var readings = new List<SignedReading>();
        foreach (var ((s, iv), q) in committed.OrderBy(kv => kv.Key))
        {
            int mode = rng.Next(10);
            if (mode == 0) continue; // missing: refunded at the deadline
            long e = mode switch { 1 or 2 => q * rng.Next(0, 100) / 100, 3 or 4 => q + rng.Next(0, 2000), _ => q };
            readings.Add(new OracleReading(market, meters[s].Address, iv, e).Sign(meters[s]));
        }
        return new Set(mf, keys, meters, list, readings);
    }

    public static void Write(Set set, string dir)
    {
        Directory.CreateDirectory(dir);
        set.Market.Write(Path.Combine(dir, "market.json"));
        File.WriteAllText(Path.Combine(dir, "trades.csv"), SettlementCsv.Csv(set.Trades.Select(SettlementCsv.Format), SettlementCsv.TradesHeader));
        File.WriteAllText(Path.Combine(dir, "meter-readings.csv"), SettlementCsv.Csv(set.Readings.Select(SettlementCsv.Format), SettlementCsv.ReadingsHeader));
    }
}
