using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OpenTE.Grid;
using OpenTE.Grid.Input;

namespace OpenTE.Settlement;

/// <summary>The market file: rules, the meter (oracle) registry, deposits and imbalance prices. See docs/settlement.md.</summary>
public sealed class MarketFile
{
    public string Market { get; set; } = "";
    public long IntervalSeconds { get; set; } = 900;
    public long GraceSeconds { get; set; } = 3600;
    public long ImbalancePriceCap { get; set; } = 500_000;
    public long DefaultImbalancePrice { get; set; } = 10_000;
    public long LossPpm { get; set; }
    public List<MeterEntry> Meters { get; set; } = [];
    public List<DepositEntry> Deposits { get; set; } = [];
    public List<PriceEntry> ImbalancePrices { get; set; } = [];

    public sealed class MeterEntry { public string Meter { get; set; } = ""; public string Owner { get; set; } = ""; }
    public sealed class DepositEntry { public string Participant { get; set; } = ""; public long Amount { get; set; } }
    public sealed class PriceEntry { public string Interval { get; set; } = ""; public long Price { get; set; } }

    /// <summary>Limits of the market file and the CSV files (issue #23): every amount the rules compute fits in 64 bits.</summary>
    public const long MaxIntervalSeconds = 86_400, MaxGraceSeconds = 31_536_000, MaxPricePerMWh = 1_000_000_000, MaxDeposit = 1_000_000_000_000_000,
        MaxTotalDeposits = 1_000_000_000_000_000_000;

    /// <summary>quantity_wh and energy_wh at most 10⁹ Wh (1 GWh per interval): price ≤ 10⁹ per MWh × 10⁹ Wh fits in 64 bits.</summary>
    public const long MaxWh = 1_000_000_000;

    public MarketRules Rules => new(Market, IntervalSeconds, GraceSeconds, ImbalancePriceCap, DefaultImbalancePrice, LossPpm);

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static MarketFile Read(string path)
    {
        var text = InputFiles.ReadText(path);
        MarketFile? m;
        try
        {
            m = JsonSerializer.Deserialize<MarketFile>(text, Json);
        }
        catch (JsonException e)
        {
            throw new InputException(path, (int)(e.LineNumber ?? -1) + 1, $"invalid market JSON ({e.Message.Split('.')[0]})", "see docs/settlement.md for the market file");
        }
        if (m is null || string.IsNullOrWhiteSpace(m.Market)) throw new InputException(path, 0, "the market file has no 'market' name", "add \"market\": \"NAME\"");
        if (m.Meters is null || m.Deposits is null || m.ImbalancePrices is null || m.Meters.Any(x => x is null) || m.Deposits.Any(x => x is null) || m.ImbalancePrices.Any(x => x is null))
            throw new InputException(path, 0, "meters, deposits and imbalancePrices must be lists of objects (no null)", "write [] for an empty list");
        void Range(string field, long v, long lo, long hi, string unit)
        {
            if (v < lo || v > hi) throw new InputException(path, 0, $"{field} is {v}, outside [{lo}, {hi}]", $"give {field} in {unit} within that range");
        }
        Range("intervalSeconds", m.IntervalSeconds, 1, MaxIntervalSeconds, "seconds");
        Range("graceSeconds", m.GraceSeconds, 0, MaxGraceSeconds, "seconds");
        Range("imbalancePriceCap", m.ImbalancePriceCap, 0, MaxPricePerMWh, "minor units per MWh");
        Range("defaultImbalancePrice", m.DefaultImbalancePrice, 0, m.ImbalancePriceCap, "minor units per MWh (at most imbalancePriceCap)");
        Range("lossPpm", m.LossPpm, 0, 1_000_000, "parts per million");
        foreach (var x in m.Meters)
            if (x.Meter is null || x.Owner is null || !Addr.IsAddress(x.Meter) || !Addr.IsAddress(x.Owner)) throw new InputException(path, 0, $"meter entry '{x.Meter}' → '{x.Owner}' is not a pair of addresses", "use 0x and 40 hex digits");
        long total = 0;
        foreach (var d in m.Deposits)
        {
            if (d.Participant is null || !Addr.IsAddress(d.Participant)) throw new InputException(path, 0, $"deposit participant '{d.Participant}' is not an address", "use 0x and 40 hex digits");
            Range($"deposit of {d.Participant}", d.Amount, 1, MaxDeposit, "minor units");
            total += d.Amount; // ≤ count × 1e15: cannot overflow below 9 000 deposits, checked below
            if (total > MaxTotalDeposits) throw new InputException(path, 0, $"the deposits add up to more than {MaxTotalDeposits}", "deposit less in one market file");
        }
        foreach (var p in m.ImbalancePrices)
        {
            if (p.Interval is null || !SettlementCsv.TryTime(p.Interval, out _)) throw new InputException(path, 0, $"imbalance price interval '{p.Interval}' is not an ISO-8601 time with offset", "e.g. 2026-06-01T00:00:00+00:00");
            if (p.Price < 0 || p.Price > m.ImbalancePriceCap) throw new InputException(path, 0, $"imbalance price {p.Price} is outside [0, imbalancePriceCap]", "raise imbalancePriceCap or fix the price");
        }
        return m;
    }

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}

/// <summary>CSV for signed trade commitments and signed meter readings (header required, times ISO-8601 with offset).</summary>
public static class SettlementCsv
{
    public const string TradesHeader = "market,interval,buyer,seller,quantity_wh,price_per_mwh,nonce,expiry,buyer_sig,seller_sig";
    public const string ReadingsHeader = "market,meter,interval,energy_wh,signature";

    public static bool TryTime(string s, out long unix)
    {
        unix = 0;
        if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)) return false;
        var body = s.Trim();
        if (!(body.EndsWith('Z') || body.Length > 6 && (body[^6] == '+' || body[^6] == '-'))) return false;
        unix = t.ToUnixTimeSeconds();
        return unix >= 0;
    }

    public static string Time(long unix) => DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    public static string Format(SignedCommitment s)
    {
        var c = s.Commitment;
        return string.Join(',', c.Market, Time(c.IntervalStart), c.Buyer, c.Seller, c.QuantityWh.ToString(CultureInfo.InvariantCulture),
            c.PricePerMWh.ToString(CultureInfo.InvariantCulture), c.Nonce.ToString(CultureInfo.InvariantCulture), Time(c.Expiry), s.BuyerSignature, s.SellerSignature);
    }

    public static string Format(SignedReading s) =>
        string.Join(',', s.Reading.Market, s.Reading.Meter, Time(s.Reading.IntervalStart), s.Reading.EnergyWh.ToString(CultureInfo.InvariantCulture), s.Signature);

    public static List<(int Line, SignedCommitment Trade)> ReadTrades(string path)
    {
        var rows = Rows(path, TradesHeader);
        var list = new List<(int, SignedCommitment)>(rows.Count);
        foreach (var (line, f) in rows)
        {
            var c = new TradeCommitment(f[0], T(path, line, f[1], "interval"), A(path, line, f[2], "buyer"), A(path, line, f[3], "seller"),
                L(path, line, f[4], "quantity_wh", MarketFile.MaxWh), L(path, line, f[5], "price_per_mwh", MarketFile.MaxPricePerMWh),
                ulong.TryParse(f[6], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw Bad(path, line, "nonce", f[6], "a non-negative integer"),
                T(path, line, f[7], "expiry"));
            list.Add((line, new SignedCommitment(c, f[8], f[9])));
        }
        return list;
    }

    public static List<(int Line, SignedReading Reading)> ReadReadings(string path)
    {
        var rows = Rows(path, ReadingsHeader);
        var list = new List<(int, SignedReading)>(rows.Count);
        foreach (var (line, f) in rows)
            list.Add((line, new SignedReading(new OracleReading(f[0], A(path, line, f[1], "meter"), T(path, line, f[2], "interval"), L(path, line, f[3], "energy_wh", MarketFile.MaxWh)), f[4])));
        return list;
    }

    private static List<(int, string[])> Rows(string path, string header) =>
        [.. CsvTable.Read(path, [header.Split(',')]).Rows.Select(r => (r.Line, r.Cells.ToArray()))];

    private static long T(string path, int line, string s, string field) =>
        TryTime(s, out var t) ? t : throw Bad(path, line, field, s, "an ISO-8601 time with offset, e.g. 2026-06-01T00:15:00+00:00");

    private static long L(string path, int line, string s, string field, long max) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= 0 && v <= max ? v : throw Bad(path, line, field, s, $"an integer in [0, {max}]");

    private static string A(string path, int line, string s, string field) =>
        Addr.IsAddress(s) ? Addr.Normalize(s) : throw Bad(path, line, field, s, "an address (0x and 40 hex digits)");

    private static InputException Bad(string path, int line, string field, string value, string expected) =>
        new(path, line, $"{field} '{value}' is not {expected}", $"fix the {field} field");

    internal static string Csv(IEnumerable<string> rows, string header)
    {
        var sb = new StringBuilder(header).Append('\n');
        foreach (var r in rows) sb.Append(r).Append('\n');
        return sb.ToString();
    }
}
