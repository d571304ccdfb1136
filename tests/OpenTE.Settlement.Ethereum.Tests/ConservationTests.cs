using OpenTE.Settlement.Tests;
using Xunit.Abstractions;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>
/// Issue #23: money and energy are conserved under any sequence of settle runs on one ledger with the contract as the
/// backend (each run deploys a fresh contract; the ledger is rebuilt from its events): the same properties as on the
/// embedded engine (<see cref="SettleSequences"/>). Skipped with a message when anvil is not available.
/// </summary>
public sealed class ConservationTests(Anvil chain, ITestOutputHelper output) : IClassFixture<Anvil>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-cons-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [ChainFact]
    public void Money_and_energy_are_conserved_under_any_sequence_of_runs_on_the_contract()
    {
        int n = int.TryParse(Environment.GetEnvironmentVariable("OPENTE_SEQ_CHAIN_N"), out var k) && k > 0 ? k : 4;
        int late = 0, held = 0;
        for (int seed = 101; seed < 101 + n; seed++)
        {
            // far in the future of anvil's clock, a fresh stretch per sequence
            long t0 = 2_400_000_000L - 2_400_000_000L % 900 + 900L * 1000 * (seed - 100);
            var s = SettleSequences.Check(seed, Path.Combine(_dir, seed.ToString()),
                (rules, start) => SettlementBackends.Prepare(new BackendOptions
                {
                    Backend = "ethereum", Rpc = chain.Url, OperatorKey = Anvil.OperatorKey, Artifact = Anvil.Artifact("EnergyEscrow"),
                })(rules, start),
                runs: 6, trades: 8, t0: t0, log: output.WriteLine);
            late += s.LateReadings;
            held += s.HeldBack;
        }
        output.WriteLine($"{n} sequences of 6 runs on anvil: {late} late readings reported, {held} readings held back by the ledger");
    }
}
