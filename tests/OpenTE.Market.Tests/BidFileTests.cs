using OpenTE.Grid.Matpower;
using OpenTE.Grid.Tests;
using OpenTE.Market.Bids;

namespace OpenTE.Market.Tests;

public class BidFileTests
{
    private const string Header = "participant,bus,side,price,quantity,block\n";

    [Fact]
    public void Reads_blocks_comments_and_defaults()
    {
        var bids = BidFile.Parse("# a comment\nparticipant,bus,side,price,quantity\nalice,1,sell,20,5\nalice,1,sell,25,5\n\nbob,2,BUY,40.5,3.25\n", "b.csv");
        Assert.Equal(3, bids.Count);
        Assert.Equal(2, bids[1].Block);
        Assert.Equal(Side.Buy, bids[2].Side);
        Assert.Equal(40.5, bids[2].Price);
        Assert.Equal(6, bids[2].Line);
        var again = BidFile.Parse(BidFile.Write(bids), "again.csv");
        Assert.Equal(bids.Select(b => b with { Line = 0 }), again.Select(b => b with { Line = 0 }));
    }

    [Theory]
    [InlineData("alice,1,sell,20\n", "b.csv:2:", "columns")]
    [InlineData("alice,x,sell,20,5,1\n", "b.csv:2:", "bus")]
    [InlineData("alice,1,hold,20,5,1\n", "b.csv:2:", "side")]
    [InlineData("alice,1,sell,abc,5,1\n", "b.csv:2:", "price")]
    [InlineData("alice,1,sell,NaN,5,1\n", "b.csv:2:", "price")]
    [InlineData("alice,1,sell,Infinity,5,1\n", "b.csv:2:", "price")]
    [InlineData("alice,1,sell,20,-5,1\n", "b.csv:2:", "quantity")]
    [InlineData("alice,1,sell,20,5,0\n", "b.csv:2:", "block")]
    [InlineData("alice,1,sell,20,5,1\nalice,1,sell,30,5,1\n", "b.csv:3:", "also on line 2")]
    [InlineData("alice,1,sell,20,5,1\nalice,1,sell,10,5,2\n", "b.csv:3:", "sell offer")]
    [InlineData("bob,1,buy,20,5,1\nbob,1,buy,30,5,2\n", "b.csv:3:", "buy bid")]
    [InlineData("alice,99,sell,20,5,1\n", "b.csv:2:", "bus 99")]
    public void Bad_rows_name_file_line_and_field(string rows, string where, string what)
    {
        var net = MatpowerCase.Read(TestData.Case("case5")).Network;
        var ex = Assert.Throws<BidFormatException>(() => BidFile.Parse(Header + rows, "b.csv", net));
        Assert.StartsWith(where, ex.Message);
        Assert.Contains(what, ex.Message);
        Assert.False(string.IsNullOrEmpty(ex.Hint));
    }

    [Fact]
    public void Missing_or_wrong_header_is_refused()
    {
        Assert.Contains("header", Assert.Throws<BidFormatException>(() => BidFile.Parse("alice,1,sell,20,5\n", "b.csv")).Message);
        Assert.Contains("no header", Assert.Throws<BidFormatException>(() => BidFile.Parse("# only a comment\n", "b.csv")).Message);
    }
}
