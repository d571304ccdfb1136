using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>A pool of keys made once (key generation and signing are the slow part of these tests).</summary>
internal static class Keys
{
    public static readonly KeyPair[] People = Enumerable.Range(0, 5).Select(_ => KeyPair.Generate()).ToArray();
    public static readonly KeyPair[] Meters = Enumerable.Range(0, 5).Select(_ => KeyPair.Generate()).ToArray();
    public static readonly KeyPair Stranger = KeyPair.Generate();

    public const long T0 = 1_780_272_000; // 2026-06-01T00:00:00Z, on a 15-minute boundary

    public static EscrowEngine Engine(MarketRules? rules = null, long deposit = 1_000_000)
    {
        var e = new EscrowEngine(rules ?? new MarketRules("m1"));
        for (int i = 0; i < People.Length; i++)
        {
            e.RegisterMeter(Meters[i].Address, People[i].Address);
            if (deposit > 0) Assert.True(e.Deposit(People[i].Address, deposit, $"dep:{i}", T0 - 1000).Accepted);
        }
        return e;
    }

    public static string TempFile(string ext = ".db") => Path.Combine(Path.GetTempPath(), "opente-settle-" + Guid.NewGuid().ToString("N") + ext);

    public static void Delete(string path)
    {
        foreach (var p in new[] { path, path + "-wal", path + "-shm" })
            if (File.Exists(p)) File.Delete(p);
    }
}

internal static class Ledgers
{
    public static List<Posting> Sample(int n, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(1, n).Select(i =>
        {
            long a = rng.Next(1, 1_000_000);
            return new Posting($"k{i}", "transfer", 1000 + i, [
                new Line($"acct-{i:D6}-from:available", Commodity.Money, -a),
                new Line($"acct-{i:D6}-to:available", Commodity.Money, a)]);
        }).ToList();
    }
}
