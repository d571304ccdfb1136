using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json;
using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Metering;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Privacy;
using OpenTE.Privacy.Metering;
using OpenTE.Settlement;
using OpenTE.Settlement.Ledger;
using static OpenTE.Server.Store;

namespace OpenTE.Server;

/// <summary>A failure the client can fix (or must know about): becomes an RFC 7807 problem naming the field and the fix.</summary>
public sealed class ApiException(int status, string title, string detail, string? field = null, string? fix = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public string? Field { get; } = field;
    public string? Fix { get; } = fix;

    public static ApiException Bad(string field, string detail, string fix) => new(400, "invalid request", detail, field, fix);
    public static ApiException NotFound(string what) => new(404, "not found", $"{what} does not exist or is not yours", null, "check the id");
    public static ApiException Conflict(string detail, string fix, string? field = null) => new(409, "conflict", detail, field, fix);
}

public sealed record MarketRow(long Id, string Name, string Case, int IntervalMinutes, int GateMinutes, string Mechanism, long StartUnix, double PrivacyEpsilon)
{
    public long IntervalSeconds => IntervalMinutes * 60L;
    public long IntervalStart(long t) => StartUnix + t * IntervalSeconds;
    public long GateUnix(long t) => IntervalStart(t) - GateMinutes * 60L;
    public string SettlementMarket => $"opente-market-{Id}";
    /// <summary>The first interval whose gate is still open at <paramref name="now"/> (unix seconds).</summary>
    public long NextOpenInterval(long now) => Math.Max(0, (long)Math.Floor((now + GateMinutes * 60.0 - StartUnix) / IntervalSeconds) + 1);
}

public sealed record ParticipantRow(long Id, string Name, int Bus, string Address, string PrivateKey, string MeterKey);

/// <summary>Who is calling: the operator, or one participant.</summary>
public sealed record Caller(bool IsOperator, ParticipantRow? Participant)
{
    public long? ParticipantId => Participant?.Id;
}

public sealed record BidIn(string Side, double Price, double Quantity);
public sealed record BidView(long Id, long Market, long Interval, string Participant, int Bus, string Side, double Price, double Quantity);
public sealed record BusPrice(int Id, double Lmp);
public sealed record AwardView(long BidId, string Participant, string Side, double Cleared, double Price);
public sealed record ResultsView(long Market, long Interval, string Status, IReadOnlyList<BusPrice> Buses, IReadOnlyList<AwardView> Awards, IReadOnlyList<string> Messages);
public sealed record IntervalView(long Interval, DateTimeOffset Start, DateTimeOffset GateClosure, string Status, int Bids, double? LmpMin, double? LmpMean, double? LmpMax);
public sealed record BalanceView(string Participant, long MoneyMinor, long AvailableMinor, long EscrowMinor, long CollateralMinor, long DepositedMinor, long EnergyWh);
public sealed record SettleView(long Market, long Interval, int Trades, int Settled, int Refunded, int Postings);
public sealed record AggregateView(long Market, string Query, double Epsilon, double EpsilonSpent, double EpsilonBudget, IReadOnlyList<AggregateValue> Values, string Description);
public sealed record AggregateValue(DateTimeOffset? Start, double Value, double NoiseStdDev);

/// <summary>
/// The market's operations on the store: bids, clearing (OpenTE's DC network clearing with LMPs, through the one
/// <see cref="ClearingOutcome"/>), results, meter readings, settlement on the ledger (OpenTE.Settlement), balances and
/// differentially private aggregates (OpenTE.Privacy). No market logic of its own: it calls the libraries.
/// </summary>
public sealed class Markets(Store store, ServerOptions options)
{
    public Store Store { get; } = store;
    public TimeProvider Clock { get; } = options.Clock;
    /// <summary>This process; the owner of the clearing leases it takes.</summary>
    public string Instance { get; } = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<long, Network> _networks = new();
    /// <summary>Participants found by their key's hash (participants are never deleted, so a hit stays true; misses are not kept).</summary>
    public ConcurrentDictionary<string, Caller> Callers { get; } = new();
    private int _solves;
    /// <summary>How many clearings this process has solved (a clearing runs once per interval).</summary>
    public int Solves => _solves;

    public long Now => Clock.GetUtcNow().ToUnixTimeSeconds();

    public const int MaxInterval = 10_000_000;
    public const int MaxBidsPerRequest = 1000;

    // ---- markets and participants

    public async Task<MarketRow> Market(long id) =>
        await Store.ReadAsync(c => Query(c, null, "SELECT id, name, case_name, interval_minutes, gate_minutes, mechanism, start_unix, privacy_epsilon FROM markets WHERE id=@id",
            ReadMarket, ("@id", id))) is [var m] ? m : throw ApiException.NotFound($"market {id}");

    public Task<List<MarketRow>> MarketsList() =>
        Store.ReadAsync(c => Query(c, null, "SELECT id, name, case_name, interval_minutes, gate_minutes, mechanism, start_unix, privacy_epsilon FROM markets ORDER BY id", ReadMarket));

    private static MarketRow ReadMarket(DbDataReader r) => new(L(r, 0), S(r, 1), S(r, 2), (int)L(r, 3), (int)L(r, 4), S(r, 5), L(r, 6), D(r, 7));

    public async Task<long> CreateMarket(string name, string caseName, int intervalMinutes, int gateMinutes, string mechanism, DateTimeOffset? start, double privacyEpsilon)
    {
        await LoadCase(caseName); // a case that does not load is refused before anything is stored
        long iv = intervalMinutes * 60L;
        long s = (start ?? Clock.GetUtcNow()).ToUnixTimeSeconds();
        s -= ((s % iv) + iv) % iv; // interval boundaries are multiples of the interval length (the settlement's rule)
        try
        {
            return await Store.WriteAsync(async (c, tx) => Convert.ToInt64(await Scalar(c, tx,
                "INSERT INTO markets(name, case_name, interval_minutes, gate_minutes, mechanism, start_unix, privacy_epsilon) VALUES (@n,@c,@i,@g,@m,@s,@e) RETURNING id",
                ("@n", name), ("@c", caseName), ("@i", intervalMinutes), ("@g", gateMinutes), ("@m", mechanism), ("@s", s), ("@e", privacyEpsilon))));
        }
        catch (DbException e) when (IsUnique(e))
        {
            throw ApiException.Conflict($"a market named '{name}' exists already", "choose another name", "name");
        }
    }

    public static bool IsUnique(DbException e) =>
        e.SqlState == "23505" || e.Message.Contains("UNIQUE constraint", StringComparison.Ordinal);

    public async Task<(long Id, string Key, string Address)> CreateParticipant(string name, int bus)
    {
        var key = ApiKeys.New("ote_p_");
        var kp = KeyPair.Generate();
        var meter = KeyPair.Generate();
        try
        {
            long id = await Store.WriteAsync(async (c, tx) => Convert.ToInt64(await Scalar(c, tx,
                "INSERT INTO participants(name, bus, key_hash, address, private_key, meter_key) VALUES (@n,@b,@h,@a,@k,@m) RETURNING id",
                ("@n", name), ("@b", bus), ("@h", ApiKeys.Hash(key)), ("@a", Addr.Normalize(kp.Address)), ("@k", kp.PrivateKeyHex), ("@m", meter.PrivateKeyHex))));
            return (id, key, Addr.Normalize(kp.Address));
        }
        catch (DbException e) when (IsUnique(e))
        {
            throw ApiException.Conflict($"a participant named '{name}' exists already", "choose another name", "name");
        }
    }

    public Task<List<ParticipantRow>> Participants() =>
        Store.ReadAsync(c => Query(c, null, "SELECT id, name, bus, address, private_key, meter_key FROM participants ORDER BY id", ReadParticipant));

    public async Task<ParticipantRow?> ParticipantByKeyHash(string hash) =>
        (await Store.ReadAsync(c => Query(c, null, "SELECT id, name, bus, address, private_key, meter_key FROM participants WHERE key_hash=@h", ReadParticipant, ("@h", hash)))).FirstOrDefault();

    private static ParticipantRow ReadParticipant(DbDataReader r) => new(L(r, 0), S(r, 1), (int)L(r, 2), S(r, 3), S(r, 4), S(r, 5));

    public async Task UploadCase(string name, string text)
    {
        try
        {
            _ = MatpowerCase.Parse(text, name + ".m", name).Network;
        }
        catch (OpenTE.Grid.Input.InputException e)
        {
            throw ApiException.Bad("matpower", $"the case does not read: {e.Message}", "upload a MATPOWER case file (format version 2)");
        }
        try
        {
            await Store.WriteAsync((c, tx) => Exec(c, tx, "INSERT INTO cases(name, text) VALUES (@n, @t)", ("@n", name), ("@t", text)));
        }
        catch (DbException e) when (IsUnique(e))
        {
            throw ApiException.Conflict($"a case named '{name}' exists already", "choose another name", "name");
        }
    }

    /// <summary>The market's network: an uploaded case of that name, else a case file found by the resolver (../shared/cases).</summary>
    public async Task<Network> LoadCase(string name)
    {
        var text = await Store.ReadAsync(c => Scalar(c, null, "SELECT text FROM cases WHERE name=@n", ("@n", name)));
        try
        {
            if (text is string t) return MatpowerCase.Parse(t, name + ".m", name).Network;
            var path = options.ResolveCase(name);
            return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? CaseJson.Read(path).Network : MatpowerCase.Read(path).Network;
        }
        catch (OpenTE.Grid.Input.InputException e)
        {
            throw ApiException.Bad("case", $"case '{name}': {e.Message}", "give a case name from ../shared/cases (e.g. case5) or upload one with POST /api/cases");
        }
    }

    private async Task<Network> Network(MarketRow m)
    {
        if (_networks.TryGetValue(m.Id, out var n)) return n;
        n = await LoadCase(m.Case);
        return _networks.GetOrAdd(m.Id, n);
    }

    // ---- bids

    /// <summary>
    /// Stores the bids of one participant for one interval in one transaction, before the interval's gate closure and
    /// while it is not cleared. On PostgreSQL the interval row is held (FOR SHARE) until commit, so a clearing that starts
    /// now waits for these bids; on SQLite writers are serialised. A 201 is sent only after the commit.
    /// </summary>
    public async Task<IReadOnlyList<long>> SubmitBids(MarketRow m, long t, ParticipantRow p, IReadOnlyList<BidIn> bids)
    {
        var net = await Network(m);
        if (!net.BusIndex.ContainsKey(p.Bus))
            throw ApiException.Bad("bus", $"participant '{p.Name}' is at bus {p.Bus}, which is not in market {m.Id}'s case {m.Case}", "bid in a market whose case has your bus");
        long now = Now;
        return await Store.WriteAsync(async (c, tx) =>
        {
            await EnsureInterval(c, tx, m, t);
            var status = (string?)await Scalar(c, tx, "SELECT status FROM intervals WHERE market_id=@m AND t=@t" + Store.ForShare, ("@m", m.Id), ("@t", t));
            if (status != "open")
                throw ApiException.Conflict($"interval {t} of market {m.Id} is {status}: no more bids", "bid for a later interval");
            if (now >= m.GateUnix(t))
                throw ApiException.Conflict($"the gate of interval {t} closed at {DateTimeOffset.FromUnixTimeSeconds(m.GateUnix(t)):O}", "bid for a later interval");
            var ids = new List<long>(bids.Count);
            foreach (var b in bids)
                ids.Add(Convert.ToInt64(await Scalar(c, tx,
                    "INSERT INTO bids(market_id, t, participant_id, side, price, quantity, created_unix) VALUES (@m,@t,@p,@s,@pr,@q,@now) RETURNING id",
                    ("@m", m.Id), ("@t", t), ("@p", p.Id), ("@s", b.Side), ("@pr", b.Price), ("@q", b.Quantity), ("@now", now))));
            return (IReadOnlyList<long>)ids;
        });
    }

    private static Task<int> EnsureInterval(DbConnection c, DbTransaction tx, MarketRow m, long t) =>
        Exec(c, tx, "INSERT INTO intervals(market_id, t, gate_unix, status) VALUES (@m,@t,@g,'open') ON CONFLICT (market_id, t) DO NOTHING",
            ("@m", m.Id), ("@t", t), ("@g", m.GateUnix(t)));

    private const string BidColumns = "SELECT b.id, b.market_id, b.t, p.name, p.bus, b.side, b.price, b.quantity, b.participant_id FROM bids b JOIN participants p ON p.id = b.participant_id";

    private static BidView ReadBid(DbDataReader r) => new(L(r, 0), L(r, 1), L(r, 2), S(r, 3), (int)L(r, 4), S(r, 5), D(r, 6), D(r, 7));

    /// <summary>The interval's bids: all for the operator, the caller's own for a participant.</summary>
    public Task<List<BidView>> Bids(MarketRow m, long t, Caller who) =>
        Store.ReadAsync(c => who.IsOperator
            ? Query(c, null, BidColumns + " WHERE b.market_id=@m AND b.t=@t ORDER BY b.id", ReadBid, ("@m", m.Id), ("@t", t))
            : Query(c, null, BidColumns + " WHERE b.market_id=@m AND b.t=@t AND b.participant_id=@p ORDER BY b.id", ReadBid, ("@m", m.Id), ("@t", t), ("@p", who.ParticipantId)));

    /// <summary>One bid: the operator's or its owner's; anyone else gets "not found" (its existence is not revealed).</summary>
    public async Task<BidView> Bid(MarketRow m, long id, Caller who)
    {
        var list = await Store.ReadAsync(c => Query(c, null, BidColumns + " WHERE b.market_id=@m AND b.id=@id AND (@op = 1 OR b.participant_id=@p)", ReadBid,
            ("@m", m.Id), ("@id", id), ("@op", who.IsOperator ? 1 : 0), ("@p", who.ParticipantId ?? -1)));
        return list is [var b] ? b : throw ApiException.NotFound($"bid {id}");
    }

    /// <summary>A participant's own bids over all intervals of a market (the dashboard).</summary>
    public Task<List<BidView>> OwnBids(MarketRow m, long participant, int limit = 500) =>
        Store.ReadAsync(c => Query(c, null, BidColumns + $" WHERE b.market_id=@m AND b.participant_id=@p ORDER BY b.id DESC LIMIT {limit}", ReadBid, ("@m", m.Id), ("@p", participant)));

    // ---- clearing

    /// <summary>The intervals whose gate has closed and that are not cleared (or whose clearing lease has expired).</summary>
    public Task<List<(long Market, long T)>> Due() =>
        Store.ReadAsync(c => Query(c, null,
            "SELECT market_id, t FROM intervals WHERE (status='open' AND gate_unix <= @now) OR (status='clearing' AND lease_until < @now) ORDER BY gate_unix LIMIT 100",
            r => (L(r, 0), L(r, 1)), ("@now", Now)));

    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Clears the interval once. A database lease decides who clears: the one UPDATE that moves the interval from open (or
    /// from an expired lease) to clearing wins; the result is written with the interval's move to cleared in one transaction
    /// that checks the lease is still ours, and the clearings table holds one row per interval. Others wait for the result.
    /// </summary>
    public async Task<ResultsView> Clear(MarketRow m, long t, Caller who, bool wait = true)
    {
        await Store.WriteAsync((c, tx) => EnsureInterval(c, tx, m, t));
        var deadline = DateTime.UtcNow + Lease + TimeSpan.FromSeconds(30);
        while (true)
        {
            long now = Now;
            int claimed = await Store.WriteAsync((c, tx) => Exec(c, tx,
                "UPDATE intervals SET status='clearing', lease_owner=@me, lease_until=@until WHERE market_id=@m AND t=@t AND (status='open' OR (status='clearing' AND lease_until < @now))",
                ("@me", Instance), ("@until", now + (long)Lease.TotalSeconds), ("@m", m.Id), ("@t", t), ("@now", now)));
            if (claimed == 1)
            {
                await RunClearing(m, t);
                return await Results(m, t, who);
            }
            var status = await Store.ReadAsync(c => Scalar(c, null, "SELECT status FROM intervals WHERE market_id=@m AND t=@t", ("@m", m.Id), ("@t", t)));
            if (status is "cleared" || !wait) return await Results(m, t, who);
            if (DateTime.UtcNow > deadline)
                throw new ApiException(503, "clearing in progress", $"interval {t} of market {m.Id} is being cleared by another instance", null, "ask for the results again in a moment");
            await Task.Delay(100);
        }
    }

    private async Task RunClearing(MarketRow m, long t)
    {
        var rows = await Store.ReadAsync(c => Query(c, null, BidColumns + " WHERE b.market_id=@m AND b.t=@t ORDER BY b.id",
            r => (Bid: ReadBid(r), Participant: L(r, 8)), ("@m", m.Id), ("@t", t)));
        var start = DateTimeOffset.FromUnixTimeSeconds(m.IntervalStart(t));
        double hours = m.IntervalMinutes / 60.0;
        ClearingOutcome outcome;
        IReadOnlyList<BusPrice> buses = [];
        try
        {
            var net = await Network(m);
            // Block = position in this interval's list, so each award maps back to the bid it comes from
            var bids = rows.Select((x, k) => new Bid(x.Bid.Participant, x.Bid.Bus, x.Bid.Side == "buy" ? Side.Buy : Side.Sell, x.Bid.Price, x.Bid.Quantity, k + 1, 0)).ToList();
            var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
            Interlocked.Increment(ref _solves);
            outcome = r.ToOutcome(includeGenerators: false, intervalHours: hours, start: start);
            if (r.Status == ClearingStatus.Optimal) buses = [.. r.Buses.Select(b => new BusPrice(b.Id, b.Lmp))];
        }
        catch (Exception e) when (e is not ApiException)
        {
            outcome = new ClearingOutcome("dc-opf", ClearingStatus.Error, [], hours, start, [e.Message]);
        }
        long now = Now;
        await Store.WriteAsync(async (c, tx) =>
        {
            int mine = await Exec(c, tx, "UPDATE intervals SET status='cleared', lease_owner=NULL WHERE market_id=@m AND t=@t AND status='clearing' AND lease_owner=@me",
                ("@m", m.Id), ("@t", t), ("@me", Instance));
            if (mine != 1) throw new InvalidOperationException($"the clearing lease of market {m.Id} interval {t} was lost; another instance clears it");
            await Exec(c, tx, "INSERT INTO clearings(market_id, t, status, buses, messages, owner, cleared_unix) VALUES (@m,@t,@s,@b,@msg,@o,@now)",
                ("@m", m.Id), ("@t", t), ("@s", outcome.Status.Word()), ("@b", JsonSerializer.Serialize(buses, Json)),
                ("@msg", JsonSerializer.Serialize(outcome.Messages, Json)), ("@o", Instance), ("@now", now));
            foreach (var a in outcome.Awards)
            {
                var (bid, pid) = rows[a.Block - 1];
                await Exec(c, tx, "INSERT INTO awards(bid_id, market_id, t, participant_id, side, cleared, price) VALUES (@b,@m,@t,@p,@s,@q,@pr)",
                    ("@b", bid.Id), ("@m", m.Id), ("@t", t), ("@p", pid), ("@s", bid.Side), ("@q", a.Quantity), ("@pr", a.Price));
            }
            return 0;
        });
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The interval's result: prices at every bus; all awards for the operator, the caller's own for a participant.</summary>
    public async Task<ResultsView> Results(MarketRow m, long t, Caller who)
    {
        return await Store.ReadAsync(async c =>
        {
            var cl = await Query(c, null, "SELECT status, buses, messages FROM clearings WHERE market_id=@m AND t=@t", r => (S(r, 0), S(r, 1), S(r, 2)), ("@m", m.Id), ("@t", t));
            if (cl is not [var (status, busJson, msgJson)])
            {
                var st = await Scalar(c, null, "SELECT status FROM intervals WHERE market_id=@m AND t=@t", ("@m", m.Id), ("@t", t)) as string ?? "open";
                return new ResultsView(m.Id, t, st, [], [], []);
            }
            const string sql = "SELECT a.bid_id, p.name, a.side, a.cleared, a.price FROM awards a JOIN participants p ON p.id = a.participant_id WHERE a.market_id=@m AND a.t=@t";
            var awards = who.IsOperator
                ? await Query(c, null, sql + " ORDER BY a.bid_id", ReadAward, ("@m", m.Id), ("@t", t))
                : await Query(c, null, sql + " AND a.participant_id=@p ORDER BY a.bid_id", ReadAward, ("@m", m.Id), ("@t", t), ("@p", who.ParticipantId));
            return new ResultsView(m.Id, t, status, JsonSerializer.Deserialize<List<BusPrice>>(busJson, Json) ?? [], awards,
                JsonSerializer.Deserialize<List<string>>(msgJson, Json) ?? []);
        });
    }

    private static AwardView ReadAward(DbDataReader r) => new(L(r, 0), S(r, 1), S(r, 2), D(r, 3), D(r, 4));

    /// <summary>The market's intervals with bids or a clearing: status, bid count (a participant's own), price range.</summary>
    public async Task<List<IntervalView>> Intervals(MarketRow m, Caller who, int limit = 200)
    {
        var rows = await Store.ReadAsync(c => Query(c, null,
            $"""
            SELECT i.t, i.status, (SELECT COUNT(*) FROM bids b WHERE b.market_id=i.market_id AND b.t=i.t AND (@op=1 OR b.participant_id=@p)), c.buses
            FROM intervals i LEFT JOIN clearings c ON c.market_id=i.market_id AND c.t=i.t WHERE i.market_id=@m ORDER BY i.t DESC LIMIT {limit}
            """, r => (T: L(r, 0), Status: S(r, 1), Bids: (int)L(r, 2), Buses: S(r, 3)),
            ("@m", m.Id), ("@op", who.IsOperator ? 1 : 0), ("@p", who.ParticipantId ?? -1)));
        return [.. rows.OrderBy(x => x.T).Select(x =>
        {
            var b = x.Buses.Length > 0 ? JsonSerializer.Deserialize<List<BusPrice>>(x.Buses, Json) ?? [] : [];
            return new IntervalView(x.T, DateTimeOffset.FromUnixTimeSeconds(m.IntervalStart(x.T)), DateTimeOffset.FromUnixTimeSeconds(m.GateUnix(x.T)),
                x.Status, x.Bids, b.Count > 0 ? b.Min(p => p.Lmp) : null, b.Count > 0 ? b.Average(p => p.Lmp) : null, b.Count > 0 ? b.Max(p => p.Lmp) : null);
        })];
    }

    /// <summary>Clearings after <paramref name="afterId"/> (the live feed polls this, so every instance sees every clearing).</summary>
    public Task<List<(long Id, long Market, long T, string Status, string Buses)>> ClearingsAfter(long afterId) =>
        Store.ReadAsync(c => Query(c, null, "SELECT id, market_id, t, status, buses FROM clearings WHERE id > @a ORDER BY id LIMIT 1000",
            r => (L(r, 0), L(r, 1), L(r, 2), S(r, 3), S(r, 4)), ("@a", afterId)));

    public async Task<long> LastClearingId() =>
        await Store.ReadAsync(c => Scalar(c, null, "SELECT MAX(id) FROM clearings")) is { } v ? Convert.ToInt64(v) : 0;

    // ---- meter readings, settlement, balances

    /// <summary>A participant's reading for one interval (kWh imported and exported); an identical repeat is accepted, a different one refused.</summary>
    public async Task SaveReading(MarketRow m, long t, ParticipantRow p, double importKwh, double exportKwh)
    {
        if (Now < m.IntervalStart(t) + m.IntervalSeconds)
            throw ApiException.Conflict($"interval {t} of market {m.Id} is not over yet (it ends at {DateTimeOffset.FromUnixTimeSeconds(m.IntervalStart(t) + m.IntervalSeconds):O})", "send the reading after the interval");
        await Store.WriteAsync(async (c, tx) =>
        {
            var old = await Query(c, tx, "SELECT import_kwh, export_kwh FROM meter_readings WHERE market_id=@m AND t=@t AND participant_id=@p",
                r => (D(r, 0), D(r, 1)), ("@m", m.Id), ("@t", t), ("@p", p.Id));
            if (old is [var (i, e)])
            {
                if (i == importKwh && e == exportKwh) return 0;
                throw ApiException.Conflict($"a different reading ({i} kWh in, {e} kWh out) is stored for interval {t}; the first reading stays", "a correction goes through the operator");
            }
            return await Exec(c, tx, "INSERT INTO meter_readings(market_id, t, participant_id, import_kwh, export_kwh) VALUES (@m,@t,@p,@i,@e)",
                ("@m", m.Id), ("@t", t), ("@p", p.Id), ("@i", importKwh), ("@e", exportKwh));
        });
    }

    /// <summary>
    /// Settles a cleared interval on the ledger, once: awards → commitments (<see cref="Commitments.FromClearing"/>, pool awards
    /// against the operator) signed with the participants' keys (held by the server) → the escrow engine (deposits of exactly
    /// the escrow and collateral each trade locks) → each seller's meter reading (the operator's pool delivers what it sold)
    /// → settled or refunded at the deadline → postings in the server's ledger tables, in the same transaction that marks the
    /// clearing settled.
    /// </summary>
    public async Task<SettleView> Settle(MarketRow m, long t, KeyPair op, KeyPair opMeter)
    {
        long end = m.IntervalStart(t) + m.IntervalSeconds;
        if (Now < end) throw ApiException.Conflict($"interval {t} is not over yet", "settle after the interval has ended and the meters have reported");
        return await Store.WriteAsync(async (c, tx) =>
        {
            int claimed = await Exec(c, tx, "UPDATE clearings SET settled=1 WHERE market_id=@m AND t=@t AND settled=0 AND status='optimal'", ("@m", m.Id), ("@t", t));
            if (claimed != 1)
                throw ApiException.Conflict($"interval {t} of market {m.Id} is not cleared optimally, or is settled already", "clear it first; an interval settles once");
            var awards = await Query(c, tx,
                "SELECT p.name, p.bus, a.side, a.cleared, a.price, p.address, p.private_key, p.meter_key, p.id FROM awards a JOIN participants p ON p.id=a.participant_id WHERE a.market_id=@m AND a.t=@t ORDER BY a.bid_id",
                r => (Name: S(r, 0), Bus: (int)L(r, 1), Side: S(r, 2), Q: D(r, 3), Price: D(r, 4), Address: S(r, 5), Key: S(r, 6), Meter: S(r, 7), Pid: L(r, 8)),
                ("@m", m.Id), ("@t", t));
            var readings = (await Query(c, tx, "SELECT participant_id, import_kwh, export_kwh FROM meter_readings WHERE market_id=@m AND t=@t",
                r => (P: L(r, 0), I: D(r, 1), E: D(r, 2)), ("@m", m.Id), ("@t", t))).ToDictionary(x => x.P);

            long start = m.IntervalStart(t);
            var outcome = new ClearingOutcome("dc-opf", ClearingStatus.Optimal,
                [.. awards.Select(a => new Award(a.Name, a.Bus, 0, a.Side == "buy" ? Side.Buy : Side.Sell, a.Q, a.Price))], m.IntervalMinutes / 60.0,
                DateTimeOffset.FromUnixTimeSeconds(start), []);
            var people = awards.GroupBy(a => a.Name).ToDictionary(g => g.Key, g => g.First());
            var terms = new ClearingTerms
            {
                Market = m.SettlementMarket, Start = start, IntervalSeconds = m.IntervalSeconds, Operator = op.Address,
                Addresses = people.ToDictionary(p => p.Key, p => p.Value.Address),
            };
            IReadOnlyList<ClearedTrade> trades;
            try
            {
                trades = Commitments.FromClearing(outcome, terms);
            }
            catch (ArgumentException e)
            {
                throw ApiException.Conflict($"interval {t} cannot be settled: {e.Message}", "settle intervals with non-negative prices only");
            }
            var rules = new MarketRules(m.SettlementMarket, IntervalSeconds: m.IntervalSeconds);
            var engine = new EscrowEngine(rules);
            string opAddr = Addr.Normalize(op.Address);
            var keys = people.Values.ToDictionary(p => Addr.Normalize(p.Address), p => KeyPair.FromPrivateKey(p.Key));
            keys[opAddr] = op;
            var meters = people.Values.ToDictionary(p => Addr.Normalize(p.Address), p => KeyPair.FromPrivateKey(p.Meter));
            meters[opAddr] = opMeter;
            foreach (var (addr, meter) in meters) engine.RegisterMeter(meter.Address, addr);
            var postings = new List<Posting>();
            long openAt = start - 60;
            var need = new Dictionary<string, long>();
            foreach (var tr in trades)
            {
                var cm = tr.Commitment;
                string b = Addr.Normalize(cm.Buyer), s = Addr.Normalize(cm.Seller);
                need[b] = checked(need.GetValueOrDefault(b) + Money.Amount(cm.PricePerMWh, cm.QuantityWh));
                need[s] = checked(need.GetValueOrDefault(s) + Money.Amount(rules.ImbalancePriceCap, cm.QuantityWh));
            }
            foreach (var (addr, amount) in need)
                if (amount > 0) postings.AddRange(engine.Deposit(addr, amount, $"deposit:{m.SettlementMarket}:{start}:{addr}", openAt).Postings);
            foreach (var tr in trades)
            {
                var cm = tr.Commitment;
                var res = engine.Open(cm.Sign(keys[Addr.Normalize(cm.Buyer)], keys[Addr.Normalize(cm.Seller)]), openAt);
                if (!res.Accepted) throw new InvalidOperationException($"the escrow refused a trade of interval {t}: {res.Message}");
                postings.AddRange(res.Postings);
            }
            foreach (var g in trades.GroupBy(x => Addr.Normalize(x.Commitment.Seller)))
            {
                long wh;
                if (g.Key == opAddr) wh = g.Sum(x => x.Commitment.QuantityWh); // the pool delivers what it sold
                else
                {
                    var pid = people.Values.First(p => Addr.Normalize(p.Address) == g.Key).Pid;
                    if (!readings.TryGetValue(pid, out var rd)) continue; // no reading: refunded at the deadline
                    var reading = new MeterReading(g.Key, MeterKind.Generator, m.SettlementMarket, null, DateTimeOffset.FromUnixTimeSeconds(start), rd.I, rd.E, 0);
                    wh = OracleReading.From(reading, m.SettlementMarket, meters[g.Key].Address).EnergyWh;
                }
                var signed = new OracleReading(m.SettlementMarket, meters[g.Key].Address, start, wh).Sign(meters[g.Key]);
                var pr = engine.PostReading(signed, end);
                if (!pr.Accepted) throw new InvalidOperationException($"the escrow refused a reading of interval {t}: {pr.Message}");
            }
            postings.AddRange(engine.Advance(rules.Deadline(start)));
            int written = 0;
            foreach (var p in postings)
            {
                var id = await Scalar(c, tx, "INSERT INTO postings(key, kind, time_unix, market_id) VALUES (@k,@kind,@time,@m) ON CONFLICT (key) DO NOTHING RETURNING id",
                    ("@k", p.Key), ("@kind", p.Kind), ("@time", p.Time), ("@m", m.Id));
                if (id is null) continue;
                written++;
                foreach (var l in p.Lines)
                    await Exec(c, tx, "INSERT INTO posting_lines(posting_id, account, commodity, amount) VALUES (@p,@a,@c,@x)",
                        ("@p", Convert.ToInt64(id)), ("@a", l.Account), ("@c", (int)l.Commodity), ("@x", l.Amount));
            }
            return new SettleView(m.Id, t, trades.Count, engine.Trades.Values.Count(x => x.State == TradeState.Settled),
                engine.Trades.Values.Count(x => x.State == TradeState.Refunded), written);
        });
    }

    /// <summary>Ledger balances per participant (one grouped query over the posting lines of participants' accounts).</summary>
    public async Task<List<BalanceView>> Balances(Caller who)
    {
        var people = who.IsOperator ? await Participants() : [who.Participant!];
        var byAddr = people.ToDictionary(p => p.Address);
        var sums = await Store.ReadAsync(c => Query(c, null,
            "SELECT l.account, l.commodity, p.kind, SUM(l.amount) FROM posting_lines l JOIN postings p ON p.id=l.posting_id GROUP BY l.account, l.commodity, p.kind",
            r => (Account: S(r, 0), Commodity: (int)L(r, 1), Kind: S(r, 2), Sum: L(r, 3))));
        var acc = people.ToDictionary(p => p.Address, _ => new long[6]); // available, escrow, collateral, deposited, energy
        foreach (var s in sums)
        {
            int colon = s.Account.IndexOf(':');
            if (colon < 0 || !acc.TryGetValue(s.Account[..colon], out var a)) continue;
            string kind = s.Account[(colon + 1)..];
            if (s.Commodity == (int)Commodity.EnergyWh) { a[4] += s.Sum; continue; }
            if (kind == "available") a[0] += s.Sum;
            else if (kind == "escrow") a[1] += s.Sum;
            else if (kind == "collateral") a[2] += s.Sum;
            if (kind == "available" && s.Kind == "deposit") a[3] += s.Sum;
        }
        return [.. people.Select(p =>
        {
            var a = acc[p.Address];
            return new BalanceView(p.Name, a[0] + a[1] + a[2] - a[3], a[0], a[1], a[2], a[3], a[4]);
        })];
    }

    // ---- differentially private aggregate

    /// <summary>
    /// A differentially private sum of the market's metered import per interval (OpenTE.Privacy, Laplace noise), charged to
    /// the market's ε budget through the privacy accountant; the releases are stored, so a refused budget stays refused after
    /// a restart and across instances (the market row is locked while the budget is read and charged).
    /// </summary>
    public async Task<AggregateView> Aggregate(MarketRow m, double epsilon, double maxKwh)
    {
        return await Store.WriteAsync(async (c, tx) =>
        {
            await Exec(c, tx, "UPDATE markets SET privacy_lock = privacy_lock + 1 WHERE id=@m", ("@m", m.Id));
            var acc = new PrivacyAccountant(m.SettlementMarket, m.PrivacyEpsilon);
            foreach (var (q, e, d) in await Query(c, tx, "SELECT query, epsilon, delta FROM privacy_releases WHERE market_id=@m ORDER BY id", r => (S(r, 0), D(r, 1), D(r, 2)), ("@m", m.Id)))
                acc.TrySpend(q, e, d, "laplace", out _);
            var readings = await Query(c, tx,
                "SELECT r.t, p.name, p.bus, r.import_kwh, r.export_kwh FROM meter_readings r JOIN participants p ON p.id=r.participant_id WHERE r.market_id=@m ORDER BY r.t, p.id",
                r => new MeterReading(S(r, 1), MeterKind.Household, "market", (int)L(r, 2), DateTimeOffset.FromUnixTimeSeconds(m.IntervalStart(L(r, 0))), D(r, 3), D(r, 4), 0),
                ("@m", m.Id));
            var data = MeterData.ParseCsv(MeterData.ToCsv(readings), m.SettlementMarket);
            ReleaseResult res;
            try
            {
                res = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Interval, epsilon, 0, maxKwh, acc);
            }
            catch (PrivacyBudgetExceededException e)
            {
                throw new ApiException(409, "privacy budget spent", e.Message, "epsilon", "ask for a smaller epsilon, or accept that this market's budget is used up");
            }
            await Exec(c, tx, "INSERT INTO privacy_releases(market_id, query, epsilon, delta, time_unix) VALUES (@m,@q,@e,0,@now)",
                ("@m", m.Id), ("@q", res.Description), ("@e", epsilon), ("@now", Now));
            return new AggregateView(m.Id, "sum of import kWh by interval", epsilon, acc.Spent().Epsilon, m.PrivacyEpsilon,
                [.. res.Values.Select(v => new AggregateValue(v.Start, v.Value, v.NoiseStdDev))], res.Description);
        });
    }
}
