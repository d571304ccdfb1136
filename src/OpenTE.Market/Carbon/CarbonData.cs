using System.Globalization;
using System.Text.Json;
using OpenTE.Grid.Input;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Market.Carbon;

/// <summary>A participant's place and own emission rate (gCO₂/kWh of what it sells; 0 for PV).</summary>
public sealed record CarbonParticipant(string Id, int Bus, double OwnGramsPerKwh);

/// <summary>The upstream marginal emission rate (gCO₂/kWh) as a step function of time: each row holds from its interval start.</summary>
public sealed class UpstreamSeries
{
    private readonly long[] _start;
    private readonly double[] _rate;

    public UpstreamSeries(IReadOnlyList<(long Start, double GramsPerKwh)> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("the upstream series is empty");
        _start = [.. rows.Select(r => r.Start)];
        _rate = [.. rows.Select(r => r.GramsPerKwh)];
        for (int i = 1; i < _start.Length; i++)
            if (_start[i] <= _start[i - 1]) throw new ArgumentException("the upstream series is not strictly increasing in time");
    }

    /// <summary>A constant rate for all times.</summary>
    public static UpstreamSeries Constant(double gramsPerKwh) => new([(long.MinValue, gramsPerKwh)]);

    public int Count => _start.Length;
    public long FirstStart => _start[0];

    /// <summary>The rate in force at <paramref name="unixSeconds"/> (the last row starting at or before it); NaN before the first row.</summary>
    public double At(long unixSeconds)
    {
        int i = Array.BinarySearch(_start, unixSeconds);
        if (i < 0) i = ~i - 1;
        return i < 0 ? double.NaN : _rate[i];
    }

    /// <summary>Reads <c>interval,gco2_per_kwh</c>: ISO-8601 times with offset, strictly increasing, 0 ≤ rate ≤ 5000.</summary>
    public static UpstreamSeries Read(string path)
    {
        var table = CsvTable.Read(path, [["interval", "gco2_per_kwh"]]);
        var rows = new List<(long, double)>();
        foreach (var r in table.Rows)
        {
            long t = r.Time("interval").ToUnixTimeSeconds();
            double g = r.Number("gco2_per_kwh", "the upstream marginal emission rate in gCO₂/kWh, 0 … 5000", 0, 5000);
            if (rows.Count > 0 && t <= rows[^1].Item1)
                throw r.Error("interval", $"interval {r["interval"]} is not after the row before it", "list the intervals once each, in increasing time");
            rows.Add((t, g));
        }
        if (rows.Count == 0) throw new InputException(path, table.HeaderLine, "no rows after the header", "add one row per interval: interval,gco2_per_kwh", "interval");
        return new UpstreamSeries(rows);
    }
}

/// <summary>
/// The emission data of a community: its grid (case) and marginal loss factors, the participants' buses and own
/// rates, the upstream marginal rate series, the carbon price and how a trade's carbon money is split. docs/carbon.md.
/// </summary>
public sealed class CarbonData
{
    public Network Network { get; }
    public LossFactorResult LossFactors { get; }
    public IReadOnlyDictionary<string, CarbonParticipant> Participants { get; }
    public UpstreamSeries Upstream { get; }
    /// <summary>π_C in the market's money per tonne CO₂ ($/t for the P2P market, minor units per tonne for settlement).</summary>
    public double PricePerTonne { get; init; }
    /// <summary>The buyer's share of a trade's carbon charge or credit (0 … 1); the seller carries the rest.</summary>
    public double BuyerShare { get; init; } = 0.5;
    /// <summary>Trades larger than this (MW averaged over the interval) are evaluated by re-running the power flow, not by the factors.</summary>
    public double ExactAboveMw { get; init; }
    /// <summary>The carbon file and the upstream series file this was read from (for error messages; empty when built in code).</summary>
    public string Source { get; init; } = "";
    public string UpstreamSource { get; init; } = "";

    private readonly Dictionary<(int, int, double), double> _exact = [];
    private double? _baseImport;

    public CarbonData(Network network, LossFactorResult lossFactors, IEnumerable<CarbonParticipant> participants, UpstreamSeries upstream)
    {
        Network = network;
        LossFactors = lossFactors;
        var d = new Dictionary<string, CarbonParticipant>(StringComparer.Ordinal);
        foreach (var p in participants)
        {
            if (!network.BusIndex.ContainsKey(p.Bus)) throw new ArgumentException($"participant {p.Id}: bus {p.Bus} is not in {network.Name}");
            if (!d.TryAdd(Key(p.Id), p)) throw new ArgumentException($"participant {p.Id} is listed twice");
        }
        Participants = d;
        Upstream = upstream;
        ExactAboveMw = 0.01 * network.Buses.Sum(b => Math.Max(0, b.Pd));
    }

    public CarbonParticipant Participant(string id) =>
        Participants.TryGetValue(id, out var p) || Participants.TryGetValue(Key(id), out p) ? p
            : throw new KeyNotFoundException($"participant {id} has no emission data (add it to the carbon file's participants)");

    /// <summary>Whether <paramref name="id"/> has emission data (an address in any letter case).</summary>
    public bool Has(string id) => Participants.ContainsKey(id) || Participants.ContainsKey(Key(id));

    /// <summary>Participants are looked up by id; an Ethereum address (0x and 40 hex digits) in lower case, whatever case it was written in.</summary>
    public static string Key(string id) =>
        id.Length == 42 && id.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && id.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF") is false
            ? "0x" + id[2..].ToLowerInvariant() : id;

    /// <summary>
    /// The change of emissions (grams CO₂) of a trade of <paramref name="energyKwh"/> over an interval of
    /// <paramref name="hours"/> from <paramref name="seller"/> to <paramref name="buyer"/> starting at <paramref name="intervalStart"/>:
    /// own_s·E + upstream(t)·ΔImport. ΔImport = (∂import/∂P_s − ∂import/∂P_b)·E by the loss factors, or — for a trade above
    /// <see cref="ExactAboveMw"/> — the difference of two AC power flows (with and without the trade).
    /// </summary>
    public TradeCarbon Trade(string seller, string buyer, double energyKwh, double hours, long intervalStart)
    {
        var (s, b, up, own, upstream, dImportKwh, exact) = Compute(seller, buyer, energyKwh, hours, intervalStart);
        return new TradeCarbon(seller, buyer, s.Bus, b.Bus, energyKwh, up, own, upstream, dImportKwh, exact);
    }

    /// <summary>
    /// <see cref="Trade"/>'s <see cref="TradeCarbon.Grams"/> (the same computation, bit for bit) without the record: the settlement's
    /// carbon step asks it for 100 000s of trades.
    /// </summary>
    public double Grams(string seller, string buyer, double energyKwh, double hours, long intervalStart)
    {
        var x = Compute(seller, buyer, energyKwh, hours, intervalStart);
        return x.Own + x.Upstream;
    }

    private (CarbonParticipant S, CarbonParticipant B, double Up, double Own, double Upstream, double DImportKwh, bool Exact) Compute(
        string seller, string buyer, double energyKwh, double hours, long intervalStart)
    {
        var s = Participant(seller);
        var b = Participant(buyer);
        double up = Upstream.At(intervalStart);
        if (double.IsNaN(up)) throw new ArgumentOutOfRangeException(nameof(intervalStart), $"the upstream series starts after {DateTimeOffset.FromUnixTimeSeconds(intervalStart):O}");
        double mw = energyKwh / 1000 / hours;
        double factor = LossFactors.Bus(s.Bus).DImportDInjection - LossFactors.Bus(b.Bus).DImportDInjection;
        bool exact = mw > ExactAboveMw;
        double dImportKwh = exact ? ExactImportChange(s.Bus, b.Bus, mw) * hours * 1000 : factor * energyKwh;
        double own = s.OwnGramsPerKwh * energyKwh;
        return (s, b, up, own, up * dImportKwh, dImportKwh, exact);
    }

    /// <summary>Grams CO₂ per kWh of a trade from bus <paramref name="sellerBus"/> to <paramref name="buyerBus"/> by the factors (the seller's own rate not included).</summary>
    public double UpstreamFactor(int sellerBus, int buyerBus, double upstreamGramsPerKwh) =>
        upstreamGramsPerKwh * (LossFactors.Bus(sellerBus).DImportDInjection - LossFactors.Bus(buyerBus).DImportDInjection);

    /// <summary>Import change (MW) of <paramref name="mw"/> injected at one bus and withdrawn at the other, by two AC power flows.</summary>
    public double ExactImportChange(int sellerBus, int buyerBus, double mw)
    {
        lock (_exact)
        {
            if (_exact.TryGetValue((sellerBus, buyerBus, mw), out var d)) return d;
            _baseImport ??= Grid.PowerFlow.LossFactors.ImportMw(Network, LossFactors.PowerFlow, LossFactors.ReferenceBus);
            var traded = Grid.PowerFlow.LossFactors.WithInjections(Network, [(sellerBus, mw), (buyerBus, -mw)]);
            var pf = AcPowerFlow.Solve(traded, new PowerFlowOptions { Tolerance = 1e-10, MaxIterations = 20 });
            if (!pf.Converged) throw new InvalidOperationException($"the AC power flow with a trade of {mw:G4} MW from bus {sellerBus} to bus {buyerBus} does not converge");
            d = Grid.PowerFlow.LossFactors.ImportMw(traded, pf, LossFactors.ReferenceBus) - _baseImport.Value;
            _exact[(sellerBus, buyerBus, mw)] = d;
            return d;
        }
    }

    /// <summary>
    /// Reads the carbon file (JSON): { "case", "participants": [{ "id", "bus", "gco2PerKwh" }], "upstream": "CSV path"
    /// or "upstreamGco2PerKwh": number, "carbonPricePerTonne", "buyerShare", "exactAboveMw" }. Errors name the file and JSON path.
    /// </summary>
    public static CarbonData Read(string path, Func<string, Network> loadCase, double? priceOverride = null)
    {
        string text = InputFiles.ReadText(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InputException(path, (int)(e.LineNumber ?? 0) + 1, "not valid JSON: " + e.Message.Split('.')[0], "fix the JSON syntax"); }
        using (doc)
        {
            var root = doc.RootElement;
            InputException Err(string where, string what, string hint) => new(path, 0, $"{where}: {what}", hint, where);
            if (root.ValueKind != JsonValueKind.Object) throw Err("$", "is not an object", "write { \"case\", \"participants\", \"upstream\" } (docs/carbon.md)");
            double Num(JsonElement e, string name, string where, double min, double max, double? fallback = null)
            {
                if (!e.TryGetProperty(name, out var v)) return fallback ?? throw Err($"{where}.{name}", "missing", $"add \"{name}\"");
                if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble())) throw Err($"{where}.{name}", $"'{v}' is not a finite number", "write a plain number");
                double x = v.GetDouble();
                if (x < min || x > max) throw Err($"{where}.{name}", $"{x.ToString(CultureInfo.InvariantCulture)} is outside [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]", $"give {name} within that range");
                return x;
            }
            string caseName = root.TryGetProperty("case", out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString()! : throw Err("$.case", "missing", "name the case of the community's grid, e.g. \"case33bw\"");
            Network net;
            try { net = loadCase(caseName); }
            catch (InputException e) when (e.File != path) { throw Err("$.case", $"'{caseName}': {e.Message}", e.Hint); }
            if (!root.TryGetProperty("participants", out var list) || list.ValueKind != JsonValueKind.Array) throw Err("$.participants", "missing", "list { \"id\", \"bus\", \"gco2PerKwh\" } per participant");
            var participants = new List<CarbonParticipant>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int k = 0;
            foreach (var e in list.EnumerateArray())
            {
                string where = $"$.participants[{k++}]";
                if (e.ValueKind != JsonValueKind.Object) throw Err(where, "is not an object", "write { \"id\", \"bus\", \"gco2PerKwh\" }");
                string id = e.TryGetProperty("id", out var idv) && idv.ValueKind == JsonValueKind.String && idv.GetString()!.Length > 0 ? idv.GetString()! : throw Err(where + ".id", "missing", "give the participant's id (its address in settlement, its peer id in the P2P market)");
                if (!seen.Add(Key(id))) throw Err(where + ".id", $"'{id}' is listed twice", "list each participant once");
                double bus = Num(e, "bus", where, 0, int.MaxValue);
                if (bus != Math.Floor(bus) || !net.BusIndex.ContainsKey((int)bus)) throw Err(where + ".bus", $"{bus} is not a bus of {net.Name}", "use a bus number of the case");
                participants.Add(new CarbonParticipant(id, (int)bus, Num(e, "gco2PerKwh", where, 0, 5000)));
            }
            UpstreamSeries upstream;
            string upstreamSource = path;
            if (root.TryGetProperty("upstream", out var upv))
            {
                if (upv.ValueKind != JsonValueKind.String) throw Err("$.upstream", "is not a file name", "give the CSV of interval,gco2_per_kwh, relative to the carbon file");
                string csv = upv.GetString()!;
                if (!Path.IsPathRooted(csv)) csv = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", csv);
                if (!File.Exists(csv)) throw Err("$.upstream", $"there is no file {csv}", "give the CSV of interval,gco2_per_kwh, relative to the carbon file");
                upstreamSource = csv;
                upstream = UpstreamSeries.Read(csv);
            }
            else if (root.TryGetProperty("upstreamGco2PerKwh", out _)) upstream = UpstreamSeries.Constant(Num(root, "upstreamGco2PerKwh", "$", 0, 5000));
            else throw Err("$.upstream", "missing", "give \"upstream\": \"file.csv\" (interval,gco2_per_kwh) or a constant \"upstreamGco2PerKwh\"");
            double price = priceOverride ?? Num(root, "carbonPricePerTonne", "$", 0, 1e9, 0);
            double share = Num(root, "buyerShare", "$", 0, 1, 0.5);
            var mlf = Grid.PowerFlow.LossFactors.Compute(net);
            if (!mlf.Converged) throw Err("$.case", $"the AC power flow of {net.Name} does not converge", "use a case whose power flow converges (opente pf CASE)");
            var data = new CarbonData(net, mlf, participants, upstream) { PricePerTonne = price, BuyerShare = share, Source = path, UpstreamSource = upstreamSource };
            if (root.TryGetProperty("exactAboveMw", out _)) data = data.WithExactAbove(Num(root, "exactAboveMw", "$", 0, 1e9));
            return data;
        }
    }

    private CarbonData WithExactAbove(double mw) =>
        new(Network, LossFactors, Participants.Values, Upstream) { PricePerTonne = PricePerTonne, BuyerShare = BuyerShare, ExactAboveMw = mw, Source = Source, UpstreamSource = UpstreamSource };

    /// <summary>A copy with another carbon price.</summary>
    public CarbonData WithPrice(double pricePerTonne) =>
        new(Network, LossFactors, Participants.Values, Upstream) { PricePerTonne = pricePerTonne, BuyerShare = BuyerShare, ExactAboveMw = ExactAboveMw, Source = Source, UpstreamSource = UpstreamSource };

    /// <summary>
    /// Per-bus marginal emission factors at an upstream rate: serving 1 kWh more load at bus i draws −∂import/∂Pᵢ kWh from
    /// upstream, so it emits upstream·(−∂import/∂Pᵢ) g; a zero-emission injection of 1 kWh there avoids as much.
    /// </summary>
    public IReadOnlyList<(int Bus, double Mlf, double DImport, double GramsPerKwhOfLoad)> BusFactors(double upstreamGramsPerKwh) =>
        [.. LossFactors.Buses.Select(b => (b.Id, b.Mlf, b.DImportDInjection, -upstreamGramsPerKwh * b.DImportDInjection))];
}

/// <summary>
/// One trade's carbon: <see cref="OwnGrams"/> (the seller's own emissions) + <see cref="UpstreamGrams"/> (upstream rate × the
/// import change <see cref="ImportChangeKwh"/>, negative when the trade cuts losses) = <see cref="Grams"/>.
/// <see cref="Exact"/>: the import change came from two AC power flows (the trade was above the first-order limit).
/// </summary>
public sealed record TradeCarbon(string Seller, string Buyer, int SellerBus, int BuyerBus, double EnergyKwh, double UpstreamGramsPerKwh,
    double OwnGrams, double UpstreamGrams, double ImportChangeKwh, bool Exact)
{
    public double Grams => OwnGrams + UpstreamGrams;
    /// <summary>Grams per kWh traded.</summary>
    public double Factor => EnergyKwh > 0 ? Grams / EnergyKwh : 0;
}
