using System.Numerics;
using System.Text.Json;
using Nethereum.Hex.HexTypes;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>Refusals of the contract that the scenario does not reach: re-entrancy, settling twice, overflow, operator-only calls.</summary>
public sealed class SecurityTests(Anvil chain) : IClassFixture<Anvil>
{
    private static int _epoch;
    private static long NextT0() => 2_100_000_000L - 2_100_000_000L % 900 + 108_000L * Interlocked.Increment(ref _epoch);

    private EthereumBackend Deploy(MarketRules rules) => new(chain.Url, Anvil.OperatorKey, rules, Anvil.Artifact("EnergyEscrow"));

    [ChainFact]
    public void Reentrant_withdraw_is_blocked_and_pays_once()
    {
        var esc = Deploy(new MarketRules("sec"));
        using var doc = JsonDocument.Parse(File.ReadAllText(Anvil.Artifact("ReentrancyAttacker")));
        var abi = doc.RootElement.GetProperty("abi").GetRawText();
        var from = new Nethereum.Web3.Accounts.Account(Anvil.OperatorKey, 31337).Address;
        var receipt = esc.Web3.Eth.DeployContract.SendRequestAndWaitForReceiptAsync(abi, doc.RootElement.GetProperty("bytecode").GetString()!,
            from, new HexBigInteger(2_000_000), null, esc.Address).GetAwaiter().GetResult();
        var attacker = esc.Web3.Eth.GetContract(abi, receipt.ContractAddress);
        var attack = attacker.GetFunction("attack");
        var tx = attack.SendTransactionAndWaitForReceiptAsync(from, new HexBigInteger(1_000_000), new HexBigInteger(1000), null, new BigInteger(1000))
            .GetAwaiter().GetResult();
        Assert.Equal(1, (int)tx.Status.Value);
        Assert.True(attacker.GetFunction("blocked").CallAsync<bool>().GetAwaiter().GetResult());
        Assert.False(attacker.GetFunction("reentered").CallAsync<bool>().GetAwaiter().GetResult());
        Assert.Equal(0, esc.Balance(receipt.ContractAddress).Available);
        Assert.Equal(new BigInteger(1000), esc.Web3.Eth.GetBalance.SendRequestAsync(receipt.ContractAddress).GetAwaiter().GetResult().Value);
        Assert.Equal(BigInteger.Zero, esc.Web3.Eth.GetBalance.SendRequestAsync(esc.Address).GetAwaiter().GetResult().Value);
    }

    [ChainFact]
    public void Settling_or_refunding_twice_overflow_and_operator_calls_are_refused()
    {
        var rules = new MarketRules("sec2");
        var esc = Deploy(rules);
        long t0 = NextT0();
        var (b, s, m) = (KeyPair.Generate(), KeyPair.Generate(), KeyPair.Generate());
        esc.RegisterMeter(m.Address, s.Address);
        Assert.Equal(Refusal.None, esc.Deposit(b.Address, 1_000_000, t0 - 100));
        Assert.Equal(Refusal.None, esc.Deposit(s.Address, 1_000_000, t0 - 99));
        var c = new TradeCommitment("sec2", t0, b.Address, s.Address, 1000, 50_000, 1, t0).Sign(b, s);
        Assert.Equal(Refusal.None, esc.Open(c, t0 - 90));
        var id = Convert.FromHexString(c.Commitment.Id[2..]);
        // nothing is due before the interval ends or before the deadline
        Assert.Equal("NotDue", esc.Transact(t0 + 10, "settleGroup", null, (ulong)t0, s.Address, new List<byte[]> { id }));
        Assert.Equal("NotDue", esc.Transact(t0 + 11, "refund", null, id));
        Assert.Equal(Refusal.None, esc.PostReading(new OracleReading("sec2", m.Address, t0, 1000).Sign(m), t0 + 900));
        Assert.Equal("BadGroup", esc.Transact(t0 + 901, "settleGroup", null, (ulong)t0, s.Address, new List<byte[]>()));
        Assert.Null(esc.Transact(t0 + 902, "settleGroup", null, (ulong)t0, s.Address, new List<byte[]> { id }));
        Assert.Equal("BadGroup", esc.Transact(t0 + 903, "settleGroup", null, (ulong)t0, s.Address, new List<byte[]> { id }));
        Assert.Equal("AlreadySettled", esc.Transact(rules.Deadline(t0) + 1, "refund", null, id));
        Assert.Equal(1_000_000 + 50, esc.Balance(s.Address).Available);
        // price × quantity beyond int64 is refused by the same rule as Money.Amount
        Assert.Equal("Overflow", esc.AmountError(long.MaxValue, 2, out _));
        Assert.Null(esc.AmountError(50_000, 1500, out var a));
        Assert.Equal(Money.Amount(50_000, 1500), a);
        // only the operator registers meters (a stranger's account is refused)
        var stranger = new EthereumBackendCaller(chain.Url, esc);
        Assert.Equal("NotOperator", stranger.RegisterMeter(KeyPair.Generate().Address, b.Address));
    }

    /// <summary>Calls the deployed contract from anvil's second development account (not the operator).</summary>
    private sealed class EthereumBackendCaller(string url, EthereumBackend esc)
    {
        private const string Key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

        public string? RegisterMeter(string meter, string owner)
        {
            var web3 = new Nethereum.Web3.Web3(new Nethereum.Web3.Accounts.Account(Key, 31337), url);
            var fn = web3.Eth.GetContract(esc.Abi, esc.Address).GetFunction("registerMeter");
            try
            {
                fn.EstimateGasAsync(web3.TransactionManager.Account.Address, null, null, meter, owner).GetAwaiter().GetResult();
                return null;
            }
            catch (Exception e)
            {
                return esc.ErrorName(e);
            }
        }
    }
}
