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
        if (m.IntervalSeconds <= 0 || m.GraceSeconds < 0 || m.ImbalancePriceCap < 0 || m.DefaultImbalancePrice < 0 || m.DefaultImbalancePrice > m.ImbalancePriceCap || m.LossPpm is < 0 or > 1_000_000)
            throw new InputException(path, 0, "intervalSeconds must be > 0, graceSeconds ≥ 0, 0 ≤ defaultImbalancePrice ≤ imbalancePriceCap, 0 ≤ lossPpm ≤ 10⁶", "fix the market rules");
        foreach (var x in m.Meters)
            if (!Addr.IsAddress(x.Meter) || !Addr.IsAddress(x.Owner)) throw new InputException(path, 0, $"meter entry '{x.Meter}' → '{x.Owner}' is not a pair of addresses", "use 0x and 40 hex digits");
        foreach (var d in m.Deposits)
            if (!Addr.IsAddress(d.Participant) || d.Amount <= 0) throw new InputException(path, 0, $"deposit '{d.Participant}' {d.Amount} is invalid", "participant address, amount > 0 in minor units");
        foreach (var p in m.ImbalancePrices)
        {
            if (!SettlementCsv.TryTime(p.Interval, out _)) throw new InputException(path, 0, $"imbalance price interval '{p.Interval}' is not an ISO-8601 time with offset", "e.g. 2026-06-01T00:00:00+00:00");
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
                L(path, line, f[4], "quantity_wh"), L(path, line, f[5], "price_per_mwh"),
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
            list.Add((line, new SignedReading(new MeterReading(f[0], A(path, line, f[1], "meter"), T(path, line, f[2], "interval"), L(path, line, f[3], "energy_wh")), f[4])));
        return list;
    }

    private static List<(int, string[])> Rows(string path, string header)
    {
        var text = InputFiles.ReadText(path);
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0].Trim().TrimStart('\uFEFF') != header)
            throw new InputException(path, 1, "the header is not the expected one", $"the first line must be: {header}");
        int width = header.Split(',').Length;
        var rows = new List<(int, string[])>();
        for (int i = 1; i < lines.Length; i++)
        {
            var l = lines[i].TrimEnd('\r');
            if (l.Trim().Length == 0 || l.StartsWith('#')) continue;
            var f = l.Split(',').Select(x => x.Trim()).ToArray();
            if (f.Length != width) throw new InputException(path, i + 1, $"expected {width} fields, found {f.Length}", $"columns: {header}");
            rows.Add((i + 1, f));
        }
        return rows;
    }

    private static long T(string path, int line, string s, string field) =>
        TryTime(s, out var t) ? t : throw Bad(path, line, field, s, "an ISO-8601 time with offset, e.g. 2026-06-01T00:15:00+00:00");

    private static long L(string path, int line, string s, string field) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : throw Bad(path, line, field, s, "a non-negative integer");

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
