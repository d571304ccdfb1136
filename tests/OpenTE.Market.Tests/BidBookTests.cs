using OpenTE.Market.Bids;

namespace OpenTE.Market.Tests;

public class BidBookTests
{
    private static readonly BidBook Book = new(
    [
        new Bid("alice", 1, Side.Sell, 20, 5, 1, 0),
        new Bid("bob", 2, Side.Buy, 60, 3, 1, 0),
        new Bid("alice", 2, Side.Sell, 25, 4, 1, 0),
        new Bid("carol", 1, Side.Buy, 50, 2.5, 1, 0),
        new Bid("alice", 1, Side.Sell, 30, 1, 2, 0),
    ]);

    [Fact]
    public void Is_a_list_in_input_order()
    {
        Assert.Equal(5, Book.Count);
        Assert.Equal("bob", Book[1].Participant);
        Assert.Equal(Book.ToArray(), Book.AsSpan().ToArray());
        Assert.Empty(BidBook.Empty);
    }

    [Fact]
    public void Groups_by_participant_bus_and_side()
    {
        Assert.Equal(["alice", "bob", "carol"], Book.Participants);
        Assert.Equal([1, 2], Book.Buses);
        Assert.Equal([20.0, 25, 30], Book.OfParticipant("alice").Select(b => b.Price));
        Assert.Empty(Book.OfParticipant("dave"));
        Assert.Equal([20.0, 50, 30], Book.AtBus(1).Select(b => b.Price));
        Assert.Empty(Book.AtBus(7));
        Assert.Equal(["bob", "carol"], Book.OfSide(Side.Buy).Select(b => b.Participant));
        Assert.Equal(3, Book.OfSide(Side.Sell).Count);
    }

    [Fact]
    public void Totals_quantities()
    {
        Assert.Equal(10, Book.TotalQuantity(Side.Sell));
        Assert.Equal(5.5, Book.TotalQuantity(Side.Buy));
        Assert.Equal(6, Book.TotalQuantity(Side.Sell, bus: 1));
        Assert.Equal(2.5, Book.TotalQuantity(Side.Buy, bus: 1));
        Assert.Equal(10, Book.TotalQuantity("alice", Side.Sell));
        Assert.Equal(0, Book.TotalQuantity("alice", Side.Buy));
    }

    [Fact]
    public void Cannot_be_changed_through_its_source_or_its_views()
    {
        var source = new List<Bid> { new("a", 1, Side.Buy, 1, 1, 1, 0) };
        var book = new BidBook(source);
        source.Add(new Bid("b", 1, Side.Buy, 1, 1, 1, 0));
        Assert.Single(book);
        Assert.False(book.OfParticipant("a") is List<Bid> or Bid[]);
        Assert.Throws<ArgumentException>(() => new BidBook([null!]));
    }
}
