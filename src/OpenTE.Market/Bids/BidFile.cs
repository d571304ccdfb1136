using System.Globalization;
using System.Text;
using OpenTE.Grid;
using OpenTE.Grid.Model;

namespace OpenTE.Market.Bids;

/// <summary>A bids file with a format or consistency error (exit code 2 in the CLI).</summary>
public sealed class BidFormatException(string file, int line, string message, string hint) : InputException(file, line, message, hint);

/// <summary>
/// Bids CSV (docs/bids-csv.md): header <c>participant,bus,side,price,quantity[,block]</c>, one block per row,
/// price in $/MWh, quantity in MW. Per participant, bus and side, blocks must be monotone: sell offers
/// non-decreasing in price, buy bids non-increasing (block order).
/// </summary>
public static class BidFile
{
    public static IReadOnlyList<Bid> Read(string path, Network? network = null)
    {
        string text = InputFiles.ReadText(path);
        return Parse(text, path, network);
    }

    public static IReadOnlyList<Bid> Parse(string text, string file, Network? network = null)
    {
        var bids = new List<Bid>();
        var lines = text.Split('\n');
        int headerLine = -1;
        bool hasBlock = false;
        var autoBlock = new Dictionary<(string, int, Side), int>();
        var seen = new Dictionary<(string, int, Side, int), int>();
        for (int n = 0; n < lines.Length; n++)
        {
            string raw = lines[n].TrimEnd('\r');
            int line = n + 1;
            if (raw.Trim().Length == 0 || raw.TrimStart().StartsWith('#')) continue;
            var cells = raw.Split(',').Select(c => c.Trim()).ToArray();
            if (headerLine < 0)
            {
                var names = cells.Select(c => c.ToLowerInvariant()).ToArray();
                string[] expected = ["participant", "bus", "side", "price", "quantity"];
                if (names.Length < 5 || names.Length > 6 || !names.Take(5).SequenceEqual(expected) || (names.Length == 6 && names[5] != "block"))
                    throw new BidFormatException(file, line, $"the header is '{raw.Trim()}'",
                        "the first line must be: participant,bus,side,price,quantity (optionally ,block)");
                headerLine = line;
                hasBlock = names.Length == 6;
                continue;
            }
            int want = hasBlock ? 6 : 5;
            if (cells.Length != want)
                throw new BidFormatException(file, line, $"{cells.Length} columns where the header has {want}", "write participant,bus,side,price,quantity" + (hasBlock ? ",block" : ""));
            string participant = cells[0];
            if (participant.Length == 0) throw new BidFormatException(file, line, "participant is empty", "name the participant");
            if (!int.TryParse(cells[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int bus))
                throw new BidFormatException(file, line, $"bus '{cells[1]}' is not a bus number", "write the bus number of the case file");
            if (network is not null && !network.BusIndex.ContainsKey(bus))
                throw new BidFormatException(file, line, $"bus {bus} is not in case {network.Name}", "use a bus number of the case");
            Side side = cells[2].ToLowerInvariant() switch
            {
                "buy" => Side.Buy,
                "sell" => Side.Sell,
                _ => throw new BidFormatException(file, line, $"side '{cells[2]}' is neither buy nor sell", "write buy or sell"),
            };
            double price = Number(cells[3], file, line, "price");
            if (!double.IsFinite(price)) throw new BidFormatException(file, line, $"price is {cells[3]}", "give a finite price in $/MWh");
            double quantity = Number(cells[4], file, line, "quantity");
            if (!double.IsFinite(quantity) || quantity < 0) throw new BidFormatException(file, line, $"quantity is {cells[4]}", "give a quantity ≥ 0 in MW");
            var key = (participant, bus, side);
            int block;
            if (hasBlock)
            {
                if (!int.TryParse(cells[5], NumberStyles.Integer, CultureInfo.InvariantCulture, out block) || block < 1)
                    throw new BidFormatException(file, line, $"block '{cells[5]}' is not a positive integer", "number the blocks 1, 2, …");
            }
            else block = autoBlock[key] = autoBlock.GetValueOrDefault(key) + 1;
            if (!seen.TryAdd((participant, bus, side, block), line))
                throw new BidFormatException(file, line, $"block {block} of {participant} ({side.ToString().ToLowerInvariant()} at bus {bus}) is also on line {seen[(participant, bus, side, block)]}",
                    "give each block of a participant a distinct number");
            bids.Add(new Bid(participant, bus, side, price, quantity, block, line));
        }
        if (headerLine < 0)
            throw new BidFormatException(file, 1, "the file has no header", "the first line must be: participant,bus,side,price,quantity[,block]");
        CheckMonotone(bids, file);
        return bids;
    }

    private static double Number(string cell, string file, int line, string field) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new BidFormatException(file, line, $"{field} '{cell}' is not a number", $"write the {field} as a plain number, e.g. 42.5");

    /// <summary>Sell offers rise with the block number, buy bids fall: a stepwise curve that clears as an LP.</summary>
    private static void CheckMonotone(List<Bid> bids, string file)
    {
        foreach (var group in bids.GroupBy(b => (b.Participant, b.Bus, b.Side)))
        {
            var ordered = group.OrderBy(b => b.Block).ToList();
            for (int k = 1; k < ordered.Count; k++)
            {
                var (a, b) = (ordered[k - 1], ordered[k]);
                bool bad = a.Side == Side.Sell ? b.Price < a.Price : b.Price > a.Price;
                if (bad)
                    throw new BidFormatException(file, b.Line,
                        $"{b.Participant}'s {(b.Side == Side.Sell ? "sell offer" : "buy bid")} block {b.Block} at bus {b.Bus} is priced {b.Price} after block {a.Block} at {a.Price} (line {a.Line})",
                        b.Side == Side.Sell ? "sell offers must not get cheaper block by block" : "buy bids must not get dearer block by block");
            }
        }
    }

    public static string Write(IEnumerable<Bid> bids)
    {
        var sb = new StringBuilder("participant,bus,side,price,quantity,block\n");
        foreach (var b in bids)
            sb.Append(b.Participant).Append(',').Append(b.Bus).Append(',').Append(b.Side == Side.Buy ? "buy" : "sell").Append(',')
              .Append(b.Price.ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(b.Quantity.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(b.Block).Append('\n');
        return sb.ToString();
    }
}
