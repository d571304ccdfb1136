using System.Globalization;
using System.Text;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Market.Bids;

/// <summary>
/// A bids file with a format or consistency error (exit code 2 in the CLI). The message reads
/// "file:line: field … what is wrong"; <see cref="Field"/> names the column (or "header", "columns").
/// </summary>
public sealed class BidFormatException(string file, int line, string field, string message, string hint)
    : InputException(file, line, message, hint, field)
{
    /// <summary>participant, bus, side, price, quantity, block, header or columns.</summary>
    public new string Field => base.Field!;
}

/// <summary>
/// Bids CSV (docs/bids-csv.md): header <c>participant,bus,side,price,quantity[,block]</c>, one block per row,
/// price in $/MWh, quantity in MW. Per participant, bus and side, blocks must be monotone: sell offers
/// non-decreasing in price, buy bids non-increasing (in block order).
/// </summary>
public static class BidFile
{
    private static readonly string[] Columns = ["participant", "bus", "side", "price", "quantity", "block"];
    /// <summary>Largest |price| of a bid, $/MWh: far above any price cap, small enough that price × quantity keeps its digits.</summary>
    public const double MaxPrice = 1e6;
    /// <summary>Largest quantity of a bid, MW.</summary>
    public const double MaxQuantity = 1e7;

    /// <summary>Reads a bids file; with a <paramref name="network"/>, every bus must be one of its buses.</summary>
    public static BidBook Read(string path, Network? network = null) => Parse(InputFiles.ReadText(path), path, network);

    /// <summary>Parses bids CSV <paramref name="text"/>; <paramref name="file"/> names it in errors.</summary>
    public static BidBook Parse(string text, string file, Network? network = null)
    {
        var bids = new List<Bid>();
        var table = CsvTable.Parse(text, file, [Columns[..5], Columns], (f, l, field, m, h) => new BidFormatException(f, l, field, m, h));
        bool hasBlock = table.Columns.Count == 6;
        var autoBlock = new Dictionary<(string, int, Side), int>();
        var seen = new Dictionary<(string, int, Side, int), int>();
        foreach (var row in table.Rows)
        {
            int line = row.Line;
            string[] cells = [.. table.Columns.Select(c => row[c])];
            string participant = cells[0];
            if (participant.Length == 0)
                throw new BidFormatException(file, line, "participant", "participant is empty", "name the participant");
            if (!int.TryParse(cells[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int bus))
                throw new BidFormatException(file, line, "bus", $"bus '{cells[1]}' is not a bus number", "write the bus number of the case file, e.g. 3");
            if (network is not null && !network.BusIndex.ContainsKey(bus))
                throw new BidFormatException(file, line, "bus", $"bus {bus} is not in case {network.Name}", "use a bus number of the case");
            Side side = cells[2].ToLowerInvariant() switch
            {
                "buy" => Side.Buy,
                "sell" => Side.Sell,
                _ => throw new BidFormatException(file, line, "side", $"side '{cells[2]}' is neither buy nor sell", "write buy or sell"),
            };
            double price = Number(cells[3], file, line, "price");
            if (!double.IsFinite(price) || Math.Abs(price) > Bid.MaxPrice)
                throw new BidFormatException(file, line, "price", $"price is {cells[3]}, outside [-{Bid.MaxPrice:G0}, {Bid.MaxPrice:G0}]", "give a finite price in $/MWh within that range");
            double quantity = Number(cells[4], file, line, "quantity");
            if (!double.IsFinite(quantity) || quantity < 0 || quantity > Bid.MaxQuantity)
                throw new BidFormatException(file, line, "quantity", $"quantity is {cells[4]}, outside [0, {Bid.MaxQuantity:G0}]", "give a finite quantity in MW within that range");
            if (quantity == 0) quantity = 0; // no "-0"
            var key = (participant, bus, side);
            int block;
            if (hasBlock)
            {
                if (!int.TryParse(cells[5], NumberStyles.None, CultureInfo.InvariantCulture, out block) || block < 1)
                    throw new BidFormatException(file, line, "block", $"block '{cells[5]}' is not a positive integer", "number the blocks 1, 2, …");
            }
            else block = autoBlock[key] = autoBlock.GetValueOrDefault(key) + 1;
            if (!seen.TryAdd((participant, bus, side, block), line))
                throw new BidFormatException(file, line, "block",
                    $"block {block} of {participant} ({SideName(side)} at bus {bus}) is also on line {seen[(participant, bus, side, block)]}",
                    "give each block of a participant, bus and side a distinct number");
            bids.Add(new Bid(participant, bus, side, price, quantity, block, line));
        }
        CheckMonotone(bids, file);
        return new BidBook(bids);
    }

    private static string SideName(Side side) => side == Side.Buy ? "buy" : "sell";

    private static double Number(string cell, string file, int line, string field) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new BidFormatException(file, line, field, $"{field} '{cell}' is not a number", $"write the {field} as a plain number with a decimal point, e.g. 42.5");

    /// <summary>
    /// Sell offers rise with the block number, buy bids fall: a convex cost / concave benefit curve, so that
    /// clearing is a linear program. The error is reported at the later line and names the earlier one.
    /// </summary>
    private static void CheckMonotone(List<Bid> bids, string file)
    {
        foreach (var group in bids.GroupBy(b => (b.Participant, b.Bus, b.Side)))
        {
            Bid? previous = null;
            foreach (var b in group.OrderBy(b => b.Block))
            {
                if (previous is { } a && (b.Side == Side.Sell ? b.Price < a.Price : b.Price > a.Price))
                {
                    string what = b.Side == Side.Sell ? "sell offer" : "buy bid";
                    string compare = b.Side == Side.Sell ? "below" : "above";
                    throw new BidFormatException(file, Math.Max(a.Line, b.Line), "price",
                        $"price {P(b.Price)} of {b.Participant}'s {what} block {b.Block} at bus {b.Bus} (line {b.Line}) is {compare} " +
                        $"price {P(a.Price)} of its block {a.Block} (line {a.Line})",
                        b.Side == Side.Sell ? "sell offers must not get cheaper block by block: reorder or renumber the blocks"
                                            : "buy bids must not get dearer block by block: reorder or renumber the blocks");
                }
                previous = b;
            }
        }
    }

    private static string P(double v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Bids CSV with the block column, one row per bid in the given order; <see cref="Parse"/> reads it back to
    /// the same bids (apart from <see cref="Bid.Line"/>). Throws <see cref="ArgumentException"/> for a bid the
    /// format cannot hold: a participant that is empty, has a comma, line break, surrounding spaces or a leading
    /// '#', a price that is not finite, a quantity that is negative or not finite, or a block below 1.
    /// </summary>
    public static string Write(IEnumerable<Bid> bids)
    {
        ArgumentNullException.ThrowIfNull(bids);
        var sb = new StringBuilder("participant,bus,side,price,quantity,block\n");
        int k = 0;
        foreach (var b in bids)
        {
            k++;
            string? problem =
                b.Participant.Length == 0 || b.Participant.Trim() != b.Participant ? "participant is empty or has surrounding spaces"
                : b.Participant.AsSpan().IndexOfAny(",\r\n") >= 0 ? "participant has a comma or line break"
                : b.Participant[0] == '#' ? "participant starts with '#' (read as a comment)"
                : !double.IsFinite(b.Price) ? $"price is {b.Price}"
                : !double.IsFinite(b.Quantity) || b.Quantity < 0 ? $"quantity is {b.Quantity}"
                : b.Block < 1 ? $"block is {b.Block}"
                : null;
            if (problem is not null)
                throw new ArgumentException($"bid {k} ({b.Participant}, bus {b.Bus}): {problem}, which the bids CSV cannot hold", nameof(bids));
            sb.Append(b.Participant).Append(',')
              .Append(b.Bus.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(SideName(b.Side)).Append(',')
              .Append(P(b.Price)).Append(',')
              .Append(P(b.Quantity == 0 ? 0 : b.Quantity)).Append(',')
              .Append(b.Block.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }
}
