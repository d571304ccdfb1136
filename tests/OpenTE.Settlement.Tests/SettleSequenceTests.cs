namespace OpenTE.Settlement.Tests;

/// <summary>Issue #23: the conservation properties of <see cref="SettleSequences"/> on the embedded engine.</summary>
public class SettleSequenceTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-seq-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Money_and_energy_are_conserved_under_any_sequence_of_runs_embedded()
    {
        int n = int.TryParse(Environment.GetEnvironmentVariable("OPENTE_SEQ_N"), out var k) && k > 0 ? k : 20;
        int late = 0, held = 0, corrections = 0;
        for (int seed = 1; seed <= n; seed++)
        {
            var s = SettleSequences.Check(seed, Path.Combine(_dir, seed.ToString()), (r, _) => new EmbeddedBackend(r), runs: 6, trades: 14, t0: Keys.T0);
            late += s.LateReadings;
            held += s.HeldBack;
            corrections += s.Corrections;
        }
        output.WriteLine($"{n} sequences of 6 runs: {late} late readings reported, {held} readings held back by the ledger, {corrections} corrections");
        Assert.True(late > 0 && held > 0, "the sequences must exercise late and corrected readings");
    }
}
