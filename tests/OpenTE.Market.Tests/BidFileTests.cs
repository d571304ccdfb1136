using CsCheck;
using OpenTE.Grid;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Tests;
using OpenTE.Market.Bids;
using OpenTE.Grid.Input;

namespace OpenTE.Market.Tests;

public class BidFileTests
{
    private const string Header = "participant,bus,side,price,quantity,block\n";

    [Fact]
    public void Reads_blocks_comments_and_defaults()
    {
        var bids = BidFile.Parse("# a comment\nparticipant,bus,side,price,quantity\nalice,1,sell,20,5\nalice,1,sell,25,5\n\nbob,2,BUY,40.5,3.25\n", "b.csv");
        Assert.Equal(3, bids.Count);
        Assert.Equal(new Bid("alice", 1, Side.Sell, 20, 5, 1, 3), bids[0]);
        Assert.Equal(2, bids[1].Block);
        Assert.Equal(Side.Buy, bids[2].Side);
        Assert.Equal(40.5, bids[2].Price);
        Assert.Equal(6, bids[2].Line);
        var again = BidFile.Parse(BidFile.Write(bids), "again.csv");
        Assert.Equal(bids.Select(b => b with { Line = 0 }), again.Select(b => b with { Line = 0 }));
    }

    [Fact]
    public void Default_blocks_count_per_participant_bus_and_side_in_file_order()
    {
        var bids = BidFile.Parse("""
            participant,bus,side,price,quantity
            alice,1,sell,20,5
            alice,1,buy,90,5
            alice,2,sell,10,5
            bob,1,sell,10,5
            alice,1,sell,30,5
            alice,1,buy,80,5
            """, "b.csv");
        Assert.Equal([1, 1, 1, 1, 2, 2], bids.Select(b => b.Block));
    }

    [Fact]
    public void Header_is_case_insensitive_and_spaces_CRLF_and_a_byte_order_mark_are_tolerated()
    {
        var bids = BidFile.Parse("\uFEFF Participant , BUS,Side,PRICE,Quantity,Block \r\n\r\n  # comment\r\nalice , 1 , Sell , 1e1 , 2.5 , 1   \r\n", "b.csv");
        Assert.Equal(new Bid("alice", 1, Side.Sell, 10, 2.5, 1, 4), Assert.Single(bids));
    }

    [Fact]
    public void Explicit_blocks_may_come_in_any_order_and_are_checked_in_block_order()
    {
        var bids = BidFile.Parse(Header + "alice,1,sell,30,5,2\nalice,1,sell,20,5,1\nbob,1,buy,50,1,2\nbob,1,buy,60,1,1\n", "b.csv");
        Assert.Equal(4, bids.Count);
        var ex = Assert.Throws<BidFormatException>(() => BidFile.Parse(Header + "alice,1,sell,20,5,2\nalice,1,sell,30,5,1\n", "b.csv"));
        // block 2 (line 2) at 20 is below block 1 (line 3) at 30: reported at the later line, naming both
        Assert.StartsWith("b.csv:3:", ex.Message);
        Assert.Contains("line 2", ex.Message);
        Assert.Contains("line 3", ex.Message);
    }

    [Fact]
    public void Equal_prices_in_consecutive_blocks_are_monotone()
    {
        Assert.Equal(4, BidFile.Parse(Header + "a,1,sell,20,5,1\na,1,sell,20,5,2\nb,1,buy,20,5,1\nb,1,buy,20,5,2\n", "b.csv").Count);
    }

    [Theory]
    [InlineData("alice,1,sell,20\n", "b.csv:2:", "columns", "4 columns")]
    [InlineData("alice,1,sell,20,5,1,7\n", "b.csv:2:", "columns", "7 columns")]
    [InlineData(",1,sell,20,5,1\n", "b.csv:2:", "participant", "participant is empty")]
    [InlineData("alice,x,sell,20,5,1\n", "b.csv:2:", "bus", "bus 'x'")]
    [InlineData("alice,1.5,sell,20,5,1\n", "b.csv:2:", "bus", "bus '1.5'")]
    [InlineData("alice,99,sell,20,5,1\n", "b.csv:2:", "bus", "bus 99 is not in case")]
    [InlineData("alice,1,hold,20,5,1\n", "b.csv:2:", "side", "side 'hold'")]
    [InlineData("alice,1,sell,abc,5,1\n", "b.csv:2:", "price", "price 'abc' is not a number")]
    [InlineData("alice,1,sell,20€,5,1\n", "b.csv:2:", "price", "price '20€'")]
    [InlineData("alice,1,sell,NaN,5,1\n", "b.csv:2:", "price", "price is NaN")]
    [InlineData("alice,1,sell,Infinity,5,1\n", "b.csv:2:", "price", "price is Infinity")]
    [InlineData("alice,1,sell,-Infinity,5,1\n", "b.csv:2:", "price", "price is -Infinity")]
    [InlineData("alice,1,sell,20,many,1\n", "b.csv:2:", "quantity", "quantity 'many' is not a number")]
    [InlineData("alice,1,sell,20,-5,1\n", "b.csv:2:", "quantity", "quantity is -5")]
    [InlineData("alice,1,sell,20,NaN,1\n", "b.csv:2:", "quantity", "quantity is NaN")]
    [InlineData("alice,1,sell,20,5,0\n", "b.csv:2:", "block", "block '0'")]
    [InlineData("alice,1,sell,20,5,one\n", "b.csv:2:", "block", "block 'one'")]
    [InlineData("alice,1,sell,20,5,1\nalice,1,sell,30,5,1\n", "b.csv:3:", "block", "also on line 2")]
    [InlineData("alice,1,sell,20,5,1\n# note\nalice,1,sell,10,5,2\n", "b.csv:4:", "price", "sell offer block 2 at bus 1 (line 4) is below price 20 of its block 1 (line 2)")]
    [InlineData("bob,1,buy,20,5,1\nbob,1,buy,30,5,2\n", "b.csv:3:", "price", "buy bid block 2 at bus 1 (line 3) is above price 20 of its block 1 (line 2)")]
    public void Bad_rows_name_file_line_and_field(string rows, string where, string field, string what)
    {
        var net = MatpowerCase.Read(TestData.Case("case5")).Network;
        var ex = Assert.Throws<BidFormatException>(() => BidFile.Parse(Header + rows, "b.csv", net));
        Assert.StartsWith(where, ex.Message);
        Assert.Contains(field, ex.Message);
        Assert.Contains(what, ex.Message);
        Assert.Equal(field, ex.Field);
        Assert.Equal("b.csv", ex.File);
        Assert.False(string.IsNullOrEmpty(ex.Hint));
        Assert.IsAssignableFrom<InputException>(ex); // the CLI maps it to exit code 2
    }

    [Fact]
    public void Without_a_network_any_bus_number_is_taken()
    {
        Assert.Equal(99, Assert.Single(BidFile.Parse(Header + "alice,99,sell,20,5,1\n", "b.csv")).Bus);
    }

    [Theory]
    [InlineData("alice,1,sell,20,5\n", "b.csv:1:")]
    [InlineData("participant,bus,side,quantity,price\n", "b.csv:1:")]
    [InlineData("participant,bus,side,price,quantity,blocks\n", "b.csv:1:")]
    [InlineData("# only a comment\n\n", "b.csv:1:")]
    [InlineData("", "b.csv:1:")]
    [InlineData("# c\nparticipant;bus;side;price;quantity\n", "b.csv:2:")]
    public void Missing_or_wrong_header_is_refused(string text, string where)
    {
        var ex = Assert.Throws<BidFormatException>(() => BidFile.Parse(text, "b.csv"));
        Assert.StartsWith(where, ex.Message);
        Assert.Contains("header", ex.Message);
        Assert.Equal("header", ex.Field);
    }

    [Fact]
    public void Read_takes_a_file_and_reports_a_missing_one_as_bad_input()
    {
        string path = Path.Combine(Path.GetTempPath(), $"opente-bids-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, Header + "alice,1,sell,20,5,1\nbob,2,buy,30,5,1\n");
            var net = MatpowerCase.Read(TestData.Case("case5")).Network;
            var book = BidFile.Read(path, net);
            Assert.Equal(2, book.Count);
            File.WriteAllText(path, Header + "alice,1,sell,20,-1,1\n");
            Assert.StartsWith($"{path}:2:", Assert.Throws<BidFormatException>(() => BidFile.Read(path)).Message);
        }
        finally { File.Delete(path); }
        Assert.Throws<InputException>(() => BidFile.Read(path));
    }

    [Theory]
    [InlineData("", "participant")]
    [InlineData(" alice", "participant")]
    [InlineData("a,b", "participant")]
    [InlineData("a\nb", "participant")]
    [InlineData("#1", "participant")]
    public void Write_refuses_participants_the_format_cannot_hold(string participant, string what)
    {
        var ex = Assert.Throws<ArgumentException>(() => BidFile.Write([new Bid(participant, 1, Side.Buy, 10, 1, 1, 0)]));
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void Write_refuses_prices_quantities_and_blocks_the_format_cannot_hold()
    {
        Assert.Throws<ArgumentException>(() => BidFile.Write([new Bid("a", 1, Side.Buy, double.NaN, 1, 1, 0)]));
        Assert.Throws<ArgumentException>(() => BidFile.Write([new Bid("a", 1, Side.Buy, 10, -1, 1, 0)]));
        Assert.Throws<ArgumentException>(() => BidFile.Write([new Bid("a", 1, Side.Buy, 10, 1, 0, 0)]));
    }

    [Fact]
    public void Write_then_Parse_gives_the_same_bids()
    {
        var bid = Gen.Select(Gen.Int[0, 5], Gen.Int[1, 30], Gen.Bool, Gen.Double[-1e4, 1e4], Gen.Double[0, 1e3])
            .Select((who, bus, buy, price, q) => (who, bus, buy, price, q));
        bid.Array[0, 30].Sample(rows =>
        {
            // give each participant/bus/side distinct, monotone blocks
            var bids = rows.GroupBy(r => (r.who, r.bus, r.buy))
                .SelectMany(g => (g.Key.buy ? g.OrderByDescending(r => r.price) : g.OrderBy(r => r.price))
                    .Select((r, k) => new Bid("p-" + r.who, r.bus, r.buy ? Side.Buy : Side.Sell, r.price, r.q, k + 1, 0)))
                .ToList();
            var again = BidFile.Parse(BidFile.Write(bids), "again.csv");
            Assert.Equal(bids, again.Select(b => b with { Line = 0 }));
        }, iter: 300);
    }
}
