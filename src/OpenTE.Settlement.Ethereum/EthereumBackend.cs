using System.Numerics;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;
using System.Text.Json;
using Nethereum.Hex.HexTypes;
using Nethereum.Web3;
using Nethereum.Web3.Accounts;

namespace OpenTE.Settlement.Ethereum;

/// <summary>
/// The escrow rules run by contracts/EnergyEscrow.sol on an Ethereum chain (a local anvil in the tests).
/// The operator account deploys the contract, registers meters, sets imbalance prices and relays signed
/// commitments and readings (the contract checks the signatures, so anyone may relay). As a keeper it
/// calls settleGroup / refund for what is due; the contract refuses anything early or repeated.
/// The engine clock is mapped to block time with evm_setNextBlockTimestamp (strictly increasing).
/// </summary>
/// <summary>The contract's report of a refused call inside a multicall batch.</summary>
[Nethereum.ABI.FunctionEncoding.Attributes.Event("CallRefused")]
public sealed class CallRefusedEvent : IEventDTO
{
    [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("uint256", "index", 1, true)] public BigInteger Index { get; set; }
    [Nethereum.ABI.FunctionEncoding.Attributes.Parameter("bytes", "reason", 2, false)] public byte[]? Reason { get; set; }
}

public sealed class EthereumBackend : ISettlementBackend
{
    private readonly Web3 _web3;
    private readonly string _from;
    private readonly Nethereum.Contracts.Contract _c;
    private readonly MarketRules _rules;
    private readonly byte[] _market;
    private readonly Dictionary<string, string> _errors;
    private readonly Dictionary<string, string> _ownerMeter = new(StringComparer.Ordinal);
    private readonly SortedDictionary<(long Interval, string Seller), List<string>> _open = [];
    private long _time;

    public string Name => "ethereum";
    public string Address { get; }
    public Web3 Web3 => _web3;
    public Nethereum.Contracts.Contract Contract => _c;
    public string Abi { get; }

    /// <summary>The block the contract was deployed in (the start of its audit trail).</summary>
    public long DeployBlock { get; }

    /// <param name="startTime">The engine time of the first call: the chain's clock is set to it before the contract is
    /// deployed (moved back with evm_setTime if the chain is ahead, as a dev chain such as anvil allows).</param>
    /// <param name="contract">Use this deployed contract instead of deploying one; its rules and operator must match.</param>
    public EthereumBackend(string rpcUrl, string operatorKey, MarketRules rules, string artifactPath, long chainId = 31337, long? startTime = null, string? contract = null)
    {
        _rules = rules;
        _market = Addr.Keccak(rules.Market);
        var account = new Account(operatorKey, chainId);
        _web3 = new Web3(account, rpcUrl);
        _from = account.Address;
        using var doc = JsonDocument.Parse(File.ReadAllText(artifactPath));
        Abi = doc.RootElement.GetProperty("abi").GetRawText();
        var bytecode = doc.RootElement.GetProperty("bytecode").GetString()!;
        _errors = doc.RootElement.GetProperty("abi").EnumerateArray().Where(e => e.GetProperty("type").GetString() == "error")
            .Select(e => e.GetProperty("name").GetString()!)
            .ToDictionary(n => Convert.ToHexStringLower(Addr.Keccak(n + "()"))[..8], n => n);
        _time = Sync(LatestTimestamp());
        if (startTime is { } st && st > 0 && st < _time)
        {
            // a replay of earlier files: move the dev chain's clock back (one block is mined at the new time)
            try
            {
                Sync(_web3.Client.SendRequestAsync<object>("evm_setTime", null, st - 10));
                Sync(_web3.Client.SendRequestAsync<object>("evm_mine", null));
            }
            catch (Exception e) when (e is Nethereum.JsonRpc.Client.RpcResponseException or Nethereum.JsonRpc.Client.RpcClientUnknownException)
            {
                throw new BackendException("--rpc", $"the chain's clock ({SettlementCsv.Time(_time)}) is past the start of the replay ({SettlementCsv.Time(st)}) and the node cannot move it back (evm_setTime: {e.Message})",
                    $"start a fresh dev chain with an earlier clock, e.g. anvil --timestamp {st - 60}", e);
            }
            _time = Sync(LatestTimestamp());
        }
        if (contract is null)
        {
            if (startTime is { } s0 && s0 > 0) SetTime(s0);
            // an account without ether cannot deploy: say so with the fix instead of the node's "insufficient funds" (issue #17)
            if (Sync(_web3.Eth.GetBalance.SendRequestAsync(_from)).Value.IsZero)
                throw new BackendException("--operator-key", $"the operator account {_from} has no ether on this chain, so it cannot deploy the contract or pay gas",
                    "fund that account, or on a local anvil give one of its funded development keys (docs/settlement-ethereum.md)");
            var receipt = _web3.Eth.DeployContract.SendRequestAndWaitForReceiptAsync(Abi, bytecode, _from, new HexBigInteger(6_000_000), null,
                rules.Market, (ulong)rules.IntervalSeconds, (ulong)rules.GraceSeconds, (ulong)rules.ImbalancePriceCap,
                (ulong)rules.DefaultImbalancePrice, (ulong)rules.LossPpm).GetAwaiter().GetResult();
            if (receipt.Status.Value != 1) throw new InvalidOperationException("contract deployment failed");
            Address = receipt.ContractAddress;
            DeployBlock = (long)receipt.BlockNumber.Value;
            _c = _web3.Eth.GetContract(Abi, Address);
        }
        else
        {
            Address = contract;
            _c = _web3.Eth.GetContract(Abi, Address);
            CheckAttached();
            _attached = true;
            DeployBlock = 0;
        }
        _time = Math.Max(_time, Sync(LatestTimestamp()));
    }

    /// <summary>An existing contract must be an EnergyEscrow with this market's rules and this operator.</summary>
    private void CheckAttached()
    {
        var code = Sync(_web3.Eth.GetCode.SendRequestAsync(Address));
        if (code is null || code.Length <= 2) throw new BackendException("--contract", $"there is no contract at {Address}", "give the address printed by 'opente settle --backend ethereum'");
        try
        {
            var found = (Convert.ToHexStringLower(Sync(_c.GetFunction("market").CallAsync<byte[]>())) == Convert.ToHexStringLower(_market),
                View("intervalSeconds"), View("graceSeconds"), View("imbalancePriceCap"), View("defaultImbalancePrice"), View("lossPpm"));
            if (found != (true, _rules.IntervalSeconds, _rules.GraceSeconds, _rules.ImbalancePriceCap, _rules.DefaultImbalancePrice, _rules.LossPpm))
                throw new BackendException("--contract", $"the contract at {Address} has other market rules than the market file", "deploy a new contract (leave out --contract) or use the market file it was deployed with");
            var op = Sync(_c.GetFunction("operator").CallAsync<string>());
            if (!string.Equals(op, _from, StringComparison.OrdinalIgnoreCase))
                throw new BackendException("--contract", $"the contract's operator is {op}, not the key's account {_from}", "give the operator key the contract was deployed with");
        }
        catch (Exception e) when (e is not BackendException)
        {
            throw new BackendException("--contract", $"{Address} does not answer as an EnergyEscrow contract ({e.Message})", "give the address printed by 'opente settle --backend ethereum'", e);
        }
    }

    private static T Sync<T>(Task<T> t) => t.GetAwaiter().GetResult();

    private Task<long> LatestTimestamp() => _web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber
        .SendRequestAsync(Nethereum.RPC.Eth.DTOs.BlockParameter.CreateLatest())
        .ContinueWith(t => (long)t.Result.Timestamp.Value);

    private bool _strictTime;

    /// <summary>
    /// The next block's time = the engine time (never earlier than the last block). anvil accepts a block with its
    /// parent's timestamp, so calls at the same engine time get the same block time; a node that wants strictly
    /// increasing times (hardhat) gets +1 s per block from then on.
    /// </summary>
    private void SetTime(long now)
    {
        long ts = Math.Max(now, _strictTime ? _time + 1 : _time);
        try
        {
            Sync(_web3.Client.SendRequestAsync<object>("evm_setNextBlockTimestamp", null, ts));
        }
        catch (Nethereum.JsonRpc.Client.RpcResponseException) when (!_strictTime && ts == _time)
        {
            _strictTime = true;
            ts = _time + 1;
            Sync(_web3.Client.SendRequestAsync<object>("evm_setNextBlockTimestamp", null, ts));
        }
        _time = ts;
        _history = null;
    }

    /// <summary>Sends a transaction at engine time <paramref name="now"/>; a revert is returned as its custom error name.</summary>
    private string? Send(long now, string function, BigInteger? value, params object[] args)
    {
        SetTime(now);
        try
        {
            var fn = _c.GetFunction(function);
            var v = value is null ? null : new HexBigInteger(value.Value);
            var gas = Sync(fn.EstimateGasAsync(_from, null, v, args));   // a refusal surfaces here as the custom error
            var hash = Sync(fn.SendTransactionAsync(_from, new HexBigInteger(gas.Value * 13 / 10 + 10_000), v, args));
            var r = WaitReceipt(hash);
            if (r.Status.Value != 1) return "Reverted";
            return null;
        }
        catch (Exception e)
        {
            // the estimate reverted: nothing was mined (the next block's time stays set; the next call sets it again)
            if (_strictTime)
            {
                _time--;
                Sync(_web3.Client.SendRequestAsync<object>("evm_setNextBlockTimestamp", null, _time + 1));
            }
            return ErrorName(e) ?? throw new InvalidOperationException($"{function} failed: {e.Message}", e);
        }
    }

    private Nethereum.RPC.Eth.DTOs.TransactionReceipt WaitReceipt(string hash)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var r = Sync(_web3.Eth.Transactions.GetTransactionReceipt.SendRequestAsync(hash));
            if (r is not null) return r;
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"no receipt for {hash} after 30 s");
            Thread.Sleep(2);
        }
    }

    /// <summary>Sends any contract function directly at engine time <paramref name="now"/> (tests, tools); returns the custom error name or null.</summary>
    public string? Transact(long now, string function, BigInteger? value, params object[] args) => Send(now, function, value, args);

    /// <summary>Calls per multicall transaction in <see cref="Advance"/> and the batch helpers (an open costs ~0.1 M gas; blocks hold 30 M).</summary>
    public int BatchSize { get; set; } = 100;
    private readonly bool _attached;
    private long? _blockGasLimit;

    /// <summary>
    /// Several contract calls in one transaction (the contract's <c>multicall</c>) at engine time <paramref name="now"/>:
    /// returns per call null (done) or the custom error name it was refused with (from the receipt's CallRefused
    /// events). A refused call undoes only itself.
    /// </summary>
    public IReadOnlyList<string?> SendBatch(long now, IReadOnlyList<(string Function, object[] Args)> calls)
    {
        var errors = new string?[calls.Count];
        if (calls.Count == 0) return errors;
        if (calls.Count == 1) return [Send(now, calls[0].Function, null, calls[0].Args)]; // one call: sent as itself
        var data = calls.Select(c => Convert.FromHexString(_c.GetFunction(c.Function).GetData(c.Args)[2..])).ToList();
        SetTime(now);
        var fn = _c.GetFunction("multicall");
        HexBigInteger? gas = null;
        try { gas = Sync(fn.EstimateGasAsync(_from, null, null, data)); }
        catch (Nethereum.JsonRpc.Client.RpcResponseException e) when (calls.Count > 1 && e.Message.Contains("gas", StringComparison.OrdinalIgnoreCase)) { }
        _blockGasLimit ??= (long)Sync(_web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(
            Nethereum.RPC.Eth.DTOs.BlockParameter.CreateLatest())).GasLimit.Value;
        if (gas is null || gas.Value * 13 / 10 + 10_000 > _blockGasLimit)
        {
            // more than a block holds: send the two halves (same engine time)
            int half = calls.Count / 2;
            var list = calls as List<(string, object[])> ?? [.. calls];
            return [.. SendBatch(now, list.GetRange(0, half)), .. SendBatch(now, list.GetRange(half, calls.Count - half))];
        }
        var hash = Sync(fn.SendTransactionAsync(_from, new HexBigInteger(gas.Value * 13 / 10 + 10_000), null, data));
        var receipt = WaitReceipt(hash);
        if (receipt.Status.Value != 1) throw new InvalidOperationException($"multicall of {calls.Count} calls reverted (transaction {hash})");
        foreach (var ev in receipt.DecodeAllEvents<CallRefusedEvent>())
        {
            int i = (int)ev.Event.Index;
            var reason = ev.Event.Reason ?? [];
            errors[i] = reason.Length >= 4 && _errors.TryGetValue(Convert.ToHexStringLower(reason, 0, 4), out var name) ? name
                : "0x" + Convert.ToHexStringLower(reason);
        }
        return errors;
    }

    /// <summary>Opens many trades, <see cref="BatchSize"/> per transaction (one alone is sent as itself); per commitment the refusal it would get alone.</summary>
    public IReadOnlyList<Refusal> OpenBatch(IReadOnlyList<SignedCommitment> commitments, long now)
    {
        var result = new Refusal[commitments.Count];
        var sent = new List<int>();
        var calls = new List<(string, object[])>();
        for (int i = 0; i < commitments.Count; i++)
        {
            var c = commitments[i].Commitment;
            if (!ValidFields(c)) { result[i] = Refusal.InvalidFields; continue; }
            sent.Add(i);
            calls.Add(("open", OpenArgs(commitments[i])));
        }
        for (int a = 0; a < calls.Count; a += BatchSize)
        {
            var errors = SendBatch(now, calls.GetRange(a, Math.Min(BatchSize, calls.Count - a)));
            for (int j = 0; j < errors.Count; j++)
            {
                int i = sent[a + j];
                result[i] = Map(errors[j]);
                if (result[i] == Refusal.None) Track(commitments[i].Commitment);
            }
        }
        return result;
    }

    /// <summary>
    /// Posts many readings, <see cref="BatchSize"/> per transaction (one alone is sent as itself); per reading the outcome
    /// it would get alone — accepted, duplicate or conflicting (from the stored reading, or an earlier one in the batch), or refused.
    /// </summary>
    public IReadOnlyList<Refusal> PostReadingBatch(IReadOnlyList<SignedReading> readings, long now)
    {
        var result = new Refusal[readings.Count];
        var known = new Dictionary<(string, long), long>();
        var sent = new List<(int Index, long? Earlier)>();
        var calls = new List<(string, object[])>();
        for (int i = 0; i < readings.Count; i++)
        {
            var r = readings[i].Reading;
            if (!Addr.IsAddress(r.Meter) || r.EnergyWh < 0 || r.IntervalStart < 0) { result[i] = Refusal.InvalidFields; continue; }
            var key = (Addr.Normalize(r.Meter), r.IntervalStart);
            long? earlier = known.TryGetValue(key, out var v) ? v
                : Sync(_c.GetFunction("hasReading").CallAsync<bool>(key.Item1, (ulong)r.IntervalStart))
                    ? (long)Sync(_c.GetFunction("readingOf").CallAsync<ulong>(key.Item1, (ulong)r.IntervalStart)) : null;
            sent.Add((i, earlier));
            calls.Add(("postReading", ReadingArgs(readings[i])));
            if (earlier is null) known[key] = r.EnergyWh; // provisional: corrected below if the chain refuses it
        }
        for (int a = 0; a < calls.Count; a += BatchSize)
        {
            var errors = SendBatch(now, calls.GetRange(a, Math.Min(BatchSize, calls.Count - a)));
            for (int j = 0; j < errors.Count; j++)
            {
                var (i, earlier) = sent[a + j];
                var e = Map(errors[j]);
                result[i] = e != Refusal.None || earlier is null ? e
                    : earlier == readings[i].Reading.EnergyWh ? Refusal.DuplicateReading : Refusal.ConflictingReading;
            }
        }
        return result;
    }

    private static bool ValidFields(TradeCommitment c) =>
        Addr.IsAddress(c.Buyer) && Addr.IsAddress(c.Seller) && c.QuantityWh > 0 && c.PricePerMWh >= 0 && c.IntervalStart >= 0 && c.Expiry >= 0;

    private static object[] OpenArgs(SignedCommitment sc)
    {
        var c = sc.Commitment;
        return [Addr.Keccak(c.Market), (ulong)c.IntervalStart, Addr.Normalize(c.Buyer), Addr.Normalize(c.Seller),
            (ulong)c.QuantityWh, (ulong)c.PricePerMWh, c.Nonce, (ulong)c.Expiry, Sig(sc.BuyerSignature), Sig(sc.SellerSignature)];
    }

    private static object[] ReadingArgs(SignedReading sr)
    {
        var r = sr.Reading;
        return [Addr.Keccak(r.Market), Addr.Normalize(r.Meter), (ulong)r.IntervalStart, (ulong)r.EnergyWh, Sig(sr.Signature)];
    }

    private void Track(TradeCommitment c)
    {
        var key = (c.IntervalStart, Addr.Normalize(c.Seller));
        if (!_open.TryGetValue(key, out var l)) _open[key] = l = [];
        l.Add(c.Id);
    }

    internal string? ErrorName(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            var text = x.ToString().ToLowerInvariant();
            if (x is Nethereum.JsonRpc.Client.RpcResponseException rpc && rpc.RpcError?.Data is { } d) text += (d.ToString() ?? "").ToLowerInvariant();
            if (x is Nethereum.Contracts.SmartContractCustomErrorRevertException ce) text += ce.ExceptionEncodedData?.ToLowerInvariant();
            foreach (var (sel, name) in _errors)
                if (text.Contains("0x" + sel, StringComparison.Ordinal)) return name;
        }
        return null;
    }

    private static Refusal Map(string? error) => error is null ? Refusal.None
        : Enum.TryParse<Refusal>(error, out var r) ? r : throw new InvalidOperationException($"contract refused: {error}");

    public void RegisterMeter(string meter, string owner)
    {
        var e = Send(_time, "registerMeter", null, Addr.Normalize(meter), Addr.Normalize(owner));
        if (e is not null) throw new InvalidOperationException($"registerMeter: {e}");
        _ownerMeter[Addr.Normalize(owner)] = Addr.Normalize(meter);
    }

    public void SetImbalancePrice(long intervalStart, long pricePerMWh)
    {
        if (pricePerMWh < 0 || pricePerMWh > _rules.ImbalancePriceCap) throw new ArgumentOutOfRangeException(nameof(pricePerMWh));
        var e = Send(_time, "setImbalancePrice", null, (ulong)intervalStart, (ulong)pricePerMWh);
        if (e is not null) throw new InvalidOperationException($"setImbalancePrice: {e}");
    }

    private long _deposits;
    private Dictionary<string, long>? _depositsOnChain;

    /// <summary>
    /// Pays a deposit from the operator's account. Attached to an existing contract (<c>--contract</c>), a deposit whose
    /// key (deposit:N:participant, N counting this run's deposits as the engine does) is already on the chain with the
    /// same amount is not paid again: re-running a market file against its contract is idempotent, as re-posting to a
    /// ledger is. The same key with another amount is refused with the reason.
    /// </summary>
    public Refusal Deposit(string participant, long amount, long now)
    {
        string key = EscrowEngine.DepositKey(++_deposits, participant);
        if (_attached && amount > 0 && Addr.IsAddress(participant))
        {
            _depositsOnChain ??= History().Postings.Where(p => p.Kind == "deposit")
                .ToDictionary(p => p.Key, p => p.Lines.Where(l => l.Amount > 0).Sum(l => l.Amount), StringComparer.Ordinal);
            if (_depositsOnChain.TryGetValue(key, out var paid))
                return paid == amount ? Refusal.None
                    : throw new BackendException("--contract", $"deposit {key} is already on the chain with {paid}, the market file says {amount}",
                        "use the market file the contract was set up with, or deploy a fresh contract (no --contract)");
        }
        return DepositNow(participant, amount, now);
    }

    private Refusal DepositNow(string participant, long amount, long now) =>
        amount <= 0 ? Refusal.InvalidFields : Map(Send(now, "depositFor", amount, Addr.Normalize(participant)));

    public Refusal Open(SignedCommitment sc, long now) => OpenBatch([sc], now)[0];

    private static byte[] Sig(string hex)
    {
        var h = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        return h.Length % 2 == 0 && h.All(Uri.IsHexDigit) ? Convert.FromHexString(h) : [];
    }

    public Refusal PostReading(SignedReading sr, long now) => PostReadingBatch([sr], now)[0];

    /// <summary>The operator's carbon adjustment of a settled trade: the contract's <c>postCarbon</c> (same checks, same posting from its event).</summary>
    public Refusal PostCarbon(CarbonAdjustment a, long now) => PostCarbonBatch([a], now)[0];

    /// <summary>Carbon adjustments, <see cref="BatchSize"/> postCarbon calls per multicall transaction.</summary>
    public IReadOnlyList<Refusal> PostCarbonBatch(IReadOnlyList<CarbonAdjustment> adjustments, long now)
    {
        static bool IsId(string id) => id.StartsWith("0x", StringComparison.Ordinal) && id.Length == 66 && id[2..].All(Uri.IsHexDigit);
        var result = new Refusal[adjustments.Count];
        var sent = new List<int>();
        var calls = new List<(string Function, object[] Args)>();
        for (int i = 0; i < adjustments.Count; i++)
        {
            var a = adjustments[i];
            if (!IsId(a.TradeId)) { result[i] = Refusal.InvalidFields; continue; }
            sent.Add(i);
            calls.Add(("postCarbon", [Convert.FromHexString(a.TradeId[2..]), a.BuyerGrams, a.SellerGrams, a.BuyerMoney, a.SellerMoney]));
        }
        for (int k = 0; k < calls.Count; k += BatchSize)
        {
            var errors = SendBatch(now, calls.GetRange(k, Math.Min(BatchSize, calls.Count - k)));
            for (int j = 0; j < errors.Count; j++) result[sent[k + j]] = Map(errors[j]);
        }
        return result;
    }

    /// <summary>Settles and refunds what is due: all due settleGroup and refund calls go in multicall transactions (<see cref="BatchSize"/> each).</summary>
    public int Advance(long now)
    {
        int changed = 0;
        var done = new List<(long, string)>();
        var calls = new List<(string Function, object[] Args)>();
        foreach (var (key, ids) in _open)
        {
            var (interval, seller) = key;
            if (now < _rules.IntervalEnd(interval)) continue;
            bool has = Sync(_c.GetFunction("hasReading").CallAsync<bool>(_ownerMeter[seller], (ulong)interval));
            if (has)
                calls.Add(("settleGroup", [(ulong)interval, seller, ids.Order(StringComparer.Ordinal).Select(i => Convert.FromHexString(i[2..])).ToList()]));
            else if (now >= _rules.Deadline(interval))
                foreach (var id in ids) calls.Add(("refund", [Convert.FromHexString(id[2..])]));
            else continue;
            changed += ids.Count;
            done.Add(key);
        }
        for (int a = 0; a < calls.Count; a += BatchSize)
        {
            var part = calls.GetRange(a, Math.Min(BatchSize, calls.Count - a));
            var errors = SendBatch(now, part);
            for (int j = 0; j < errors.Count; j++)
                if (errors[j] is { } e) throw new InvalidOperationException($"{part[j].Function}: {e}");
        }
        foreach (var k in done) _open.Remove(k);
        return changed;
    }

    private long View(string fn, params object[] args) => (long)Sync(_c.GetFunction(fn).CallAsync<BigInteger>(args));

    public ParticipantBalance Balance(string p)
    {
        p = Addr.Normalize(p);
        return new(p, View("available", p), View("escrowOf", p), View("collateralOf", p), View("energyOf", p));
    }

    public (long Deposits, long ImbalanceMoney, long ImbalanceEnergy, long LossesEnergy) SystemBalances() =>
        (View("deposits"), View("imbalanceMoney"), View("imbalanceEnergy"), View("lossesEnergy"));

    /// <summary>The EVM-side amount rule (a pure call), to compare with <see cref="Money.Amount"/>.</summary>
    public string? AmountError(long price, long wh, out long result)
    {
        result = 0;
        try
        {
            result = (long)Sync(_c.GetFunction("amount").CallAsync<BigInteger>(new BigInteger(price), new BigInteger(wh)));
            return null;
        }
        catch (Exception e)
        {
            return ErrorName(e) ?? e.Message;
        }
    }

    private ChainHistory? _history;

    /// <summary>The contract's events from its deployment on, read once after each change (<see cref="ChainAudit"/>).</summary>
    public ChainHistory History() => _history ??= ChainAudit.Read(_web3, Address, DeployBlock);

    public TradeStatus? Trade(string id) => History().Trades.GetValueOrDefault(id);

    public IReadOnlyList<Ledger.Posting> Postings() => History().Postings;

    public void Dispose() { }
}
