using Microsoft.Data.Sqlite;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>What "equal" means for two ledgers (LedgerComparison): chains verify, balances per account and commodity, posting multisets; not times, hashes or order.</summary>
public class LedgerComparisonTests
{
    private static string Write(IEnumerable<Posting> ps)
    {
        var path = Keys.TempFile();
        using var l = SqliteLedger.Open(path, Durability.Normal);
        l.PostBatch(ps.ToList());
        return path;
    }

    private static void Clean(params string[] paths)
    {
        foreach (var p in paths) Keys.Delete(p);
    }

    [Fact]
    public void Same_postings_with_other_times_and_order_are_equal_but_not_in_the_same_order()
    {
        var ps = Ledgers.Sample(50, seed: 3);
        var other = ps.Select(p => p with { Time = p.Time + 7777 }).Reverse().ToList();
        var (a, b, c) = (Write(ps), Write(other), Write(ps));
        try
        {
            var r = LedgerComparison.Compare(a, b);
            Assert.True(r.Equal, r.First?.Message);
            Assert.False(r.SameOrder);
            Assert.NotEqual(r.A.HeadHash, r.B.HeadHash); // hashes cover times: not compared
            Assert.Equal(100, r.Accounts);
            var same = LedgerComparison.Compare(a, c);
            Assert.True(same.Equal);
            Assert.True(same.SameOrder);
            Assert.Equal(same.A.HeadHash, same.B.HeadHash);
        }
        finally { Clean(a, b, c); }
    }

    [Fact]
    public void A_different_amount_is_reported_with_its_account_and_both_amounts()
    {
        var ps = Ledgers.Sample(20, seed: 4);
        var changed = ps.ToList();
        var p = changed[12];
        changed[12] = p with { Lines = [p.Lines[0] with { Amount = p.Lines[0].Amount - 5 }, p.Lines[1] with { Amount = p.Lines[1].Amount + 5 }] };
        var (a, b) = (Write(ps), Write(changed));
        try
        {
            var r = LedgerComparison.Compare(a, b);
            Assert.False(r.Equal);
            var d = r.First!;
            Assert.Equal("balance", d.Kind);
            Assert.Equal(p.Lines[0].Account, d.Account); // sorted accounts: "-from" before "-to"
            Assert.Equal(p.Lines[0].Amount, d.A);
            Assert.Equal(p.Lines[0].Amount - 5, d.B);
            Assert.Equal(Commodity.Money, d.Commodity);
        }
        finally { Clean(a, b); }
    }

    [Fact]
    public void Same_balances_but_other_postings_and_a_broken_chain_are_reported()
    {
        var ps = Ledgers.Sample(10, seed: 5);
        // the same lines under another key: every balance is equal, the postings are not
        var renamed = ps.Select((p, i) => i == 3 ? p with { Key = "other" } : p).ToList();
        // one posting split in two: equal balances, a posting only in B
        var split = ps.Take(9).Append(ps[9] with { Lines = [ps[9].Lines[0] with { Amount = ps[9].Lines[0].Amount + 1 }, ps[9].Lines[1] with { Amount = ps[9].Lines[1].Amount - 1 }] })
            .Append(new Posting("extra", "transfer", 1, [ps[9].Lines[0] with { Amount = -1 }, ps[9].Lines[1] with { Amount = 1 }])).ToList();
        var (a, b, c) = (Write(ps), Write(renamed), Write(split));
        try
        {
            var r = LedgerComparison.Compare(a, b);
            Assert.False(r.Equal);
            Assert.Equal(("posting", "k4"), (r.First!.Kind, r.First.Key));
            Assert.Contains("in A only", r.First.Message);
            r = LedgerComparison.Compare(a, c);
            Assert.False(r.Equal);
            Assert.Equal(("posting", "k10"), (r.First!.Kind, r.First.Key));
            Assert.Equal(ps[9].Lines[0].Amount, r.First.A);
            Assert.Equal(ps[9].Lines[0].Amount + 1, r.First.B);

            using (var db = new SqliteConnection($"Data Source={b};Pooling=False"))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = "UPDATE journal SET hash = zeroblob(32) WHERE seq = 2";
                cmd.ExecuteNonQuery();
            }
            r = LedgerComparison.Compare(a, b);
            Assert.False(r.Equal);
            Assert.Equal("chain", r.First!.Kind);
            Assert.Contains("ledger B fails verification at entry 2", r.First.Message);
        }
        finally { Clean(a, b, c); }
    }
}
