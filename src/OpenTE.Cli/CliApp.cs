using OpenTE.Cli.Commands;
using OpenTE.Grid;
using Spectre.Console;
using Spectre.Console.Cli;
using OpenTE.Grid.Input;

namespace OpenTE.Cli;

/// <summary>Where a command writes: the human console, the raw standard output (JSON) and standard error.</summary>
public sealed record CliIo(IAnsiConsole Console, TextWriter Out, TextWriter Err)
{
    /// <summary>How result tables are written in this run (--all, --out, --csv): set from the settings before the command runs.</summary>
    public TableOutput Tables { get; set; } = new(null, false);
}

/// <summary>Sets <see cref="CliIo.Tables"/> from a command's <see cref="OutputSettings"/>; reports the CSV files written.</summary>
internal sealed class OutputInterceptor : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (settings is OutputSettings o) CliApp.Io.Tables = new TableOutput(o.Csv, o.All || o.Out is not null);
    }

    public void InterceptResult(CommandContext context, CommandSettings settings, ref int result)
    {
        var t = CliApp.Io.Tables;
        if (t.Written.Count > 0)
            CliApp.Io.Err.WriteLine($"wrote {t.Written.Count} CSV table(s) to {t.CsvDir}: {string.Join(", ", t.Written.Select(Path.GetFileName))}");
    }
}

/// <summary>
/// The <c>opente</c> command line. Thin: parse, call the libraries, print. Exit codes: 0 success,
/// 1 solved but not optimal / not converged, 2 bad input or usage, 3 unexpected failure.
/// </summary>
public static class CliApp
{
    private static readonly AsyncLocal<CliIo?> Current = new();

    public static CliIo Io => Current.Value ?? throw new InvalidOperationException("no CLI context");
    internal static CliIo? TryIo => Current.Value;

    /// <summary>Command groups: given alone they print their help (exit 0), as <c>opente</c> alone does.</summary>
    private static readonly string[] Branches = ["case", "meter", "privacy", "ledger", "keys"];

    /// <summary>The top-level commands and branches, as configured in <see cref="Run"/> (a test keeps the two equal).</summary>
    internal static readonly string[] TopLevelCommands = ["demo", "pf", "losses", "opf", "scopf", "var-market", "multiperiod", "simulate", "compare", "p2p", "silo", "serve", "clear", "strategic", "learn", "settle", "ledger", "keys", "meter", "privacy", "case"];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is [var only] && Branches.Contains(only)) args = [only, "--help"];
        bool redirected = !ReferenceEquals(stdout, Console.Out) || Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Out = new AnsiConsoleOutput(stdout),
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected) console.Profile.Width = 160;
        Current.Value = new CliIo(console, stdout, stderr);
        try
        {
            var app = new CommandApp();
            app.Configure(config =>
            {
                config.SetApplicationName("opente");
                config.UseAssemblyInformationalVersion();
                config.UseStrictParsing();
                config.ConfigureConsole(console);
                config.SetExceptionHandler((ex, _) => HandleError(ex, stderr));
                config.SetInterceptor(new OutputInterceptor());
                config.AddCommand<DemoCommand>("demo")
                    .WithDescription("One transactive day on case33bw: ~100 prosumers bid, the market clears against the network, DER inverters sell reactive power, a learning seller learns, the day settles on the verified ledger, a private feeder aggregate is released, and five market designs are compared for fairness (HTML report). --pf: the old AC power-flow demo.")
                    .WithExample("demo")
                    .WithExample("demo", "--prosumers", "300", "--out", "demo-300")
                    .WithExample("demo", "--pf", "--case", "case118");
                config.AddCommand<PfCommand>("pf")
                    .WithDescription("AC power flow (Newton–Raphson, polar) of a MATPOWER or JSON case.")
                    .WithExample("pf", "case30")
                    .WithExample("pf", "../shared/cases/case118.m", "--json")
                    .WithExample("pf", "case300", "--enforce-q-lims");
                config.AddCommand<LossesCommand>("losses")
                    .WithDescription("Marginal loss factors: change of losses and of the substation import per MW injected at each bus (AC adjoint, DC approximation beside it).")
                    .WithExample("losses", "case33bw")
                    .WithExample("losses", "case118", "--json");
                config.AddCommand<OpfCommand>("opf")
                    .WithDescription("Optimal power flow, DC or AC: dispatch, LMPs with their parts (AC: voltages, reactive prices λQ, losses), binding branches.")
                    .WithExample("opf", "case5", "--model", "dc")
                    .WithExample("opf", "case30", "--model", "ac")
                    .WithExample("opf", "case118", "--model", "dc", "--json");
                config.AddCommand<ScopfCommand>("scopf")
                    .WithDescription("N-1 security-constrained DC OPF (preventive or corrective) with the security part of the LMPs.")
                    .WithExample("scopf", "case30")
                    .WithExample("scopf", "case30", "--mode", "corrective", "--json")
                    .WithExample("scopf", "case_ACTIVSg2000", "--contingencies", "../shared/cases/contab_ACTIVSg2000.m");
                config.AddCommand<VarMarketCommand>("var-market")
                    .WithDescription("Local reactive-power market: DER inverters offer Q in blocks, cleared by the AC OPF; dispatch, λQ, payments and the voltage profile with and without the market (table + PNG).")
                    .WithExample("var-market", "case33bw", "--ders", "examples/case33bw-ders.csv")
                    .WithExample("var-market", "case33bw", "--ders", "examples/case33bw-ders.csv", "--vmin", "0.94", "--json");
                config.AddCommand<MultiPeriodCommand>("multiperiod")
                    .WithDescription("Clear many intervals at once on the DC network: storage (state of charge, efficiencies) and ramps couple them; prices per bus and interval, CSV and plots.")
                    .WithExample("multiperiod", "case30", "--series", "examples/case30-day.csv", "--storage", "examples/case30-storage.csv")
                    .WithExample("multiperiod", "case30", "--series", "examples/case30-day.csv", "--csv", "out", "--json");
                config.AddCommand<SimulateCommand>("simulate")
                    .WithDescription("Step a prosumer scenario (JSON) through the markets interval by interval: bids from each agent's state, grid-connected or islanded clearing, CSV and PNG results.")
                    .WithExample("simulate", "examples/microgrid-day.json")
                    .WithExample("simulate", "examples/microgrid-day.json", "--out", "out", "--json");
                config.AddCommand<CompareCommand>("compare")
                    .WithDescription("Run a prosumer scenario under several market designs (nodal, pay-as-bid, uniform, P2P by ADMM, SDR community pricing) and compare surplus, welfare, Lorenz curves and Gini in an HTML report.")
                    .WithExample("compare", "examples/microgrid-day.json")
                    .WithExample("compare", "examples/microgrid-day.json", "--designs", "nodal,uniform,p2p", "--out", "cmp", "--json");
                config.AddCommand<P2pCommand>("p2p")
                    .WithDescription("Peer-to-peer market by consensus ADMM: bilateral trades and prices, welfare, residual plot; peers in this process or as Orleans grains.")
                    .WithExample("p2p", "examples/p2p-community.json")
                    .WithExample("p2p", "examples/p2p-community.json", "--engine", "orleans", "--json")
                    .WithExample("p2p", "examples/p2p-community.json", "--engine", "orleans", "--cluster-db", "\"Host=127.0.0.1;Username=postgres;Database=opente\"");
                config.AddCommand<SiloCommand>("silo")
                    .WithDescription("Run one Orleans silo for the P2P market's peer grains, clustered through PostgreSQL (ADO.NET clustering); several on one or many machines form the cluster 'p2p --engine orleans --cluster-db' runs on.")
                    .WithExample("silo", "--cluster-db", "\"Host=127.0.0.1;Username=postgres;Database=opente\"", "--silo-port", "11111", "--gateway-port", "30000")
                    .WithExample("silo", "--cluster-db", "\"Host=db.lan;Username=opente;Password=...;Database=opente\"", "--address", "192.168.1.20");
                config.AddCommand<ServeCommand>("serve")
                    .WithDescription("Run the market server: participants bid over an authenticated JSON API, intervals clear at gate closure (DC network clearing with LMPs), settlement on the ledger, a dashboard; SQLite file or PostgreSQL (docs/server.md).")
                    .WithExample("serve")
                    .WithExample("serve", "--urls", "http://127.0.0.1:5080", "--db", "market.db", "--operator-key-file", "operator.key")
                    .WithExample("serve", "--db", "\"Host=127.0.0.1;Username=postgres;Database=opente\"");
                config.AddCommand<ClearCommand>("clear")
                    .WithDescription("Clear bids and offers: network-constrained (dcopf) or copper-plate double auction (uniform, pay-as-bid).")
                    .WithExample("clear", "case5", "--bids", "examples/case5-bids.csv")
                    .WithExample("clear", "case5", "--bids", "examples/case5-bids.csv", "--mechanism", "uniform", "--json");
                config.AddCommand<StrategicCommand>("strategic")
                    .WithDescription("Strategic bidding: the leader's profit-maximising offers against the DC clearing (an MPEC solved exactly as a MILP), checked by re-clearing, beside the competitive case; several leaders by diagonalisation.")
                    .WithExample("strategic", "case30", "--bids", "examples/case30-strategic-bids.csv", "--leader", "genco")
                    .WithExample("strategic", "case30", "--bids", "examples/case30-strategic-bids.csv", "--leader", "genco", "--leader", "ipp", "--mode", "both", "--json");
                config.AddCommand<LearnCommand>("learn")
                    .WithDescription("Learning bidders: train tabular Q-learning or a DQN on a market MDP (storage price taker, generators in the DC clearing) and score the policy against the exact optimum (perfect-foresight LP, MPEC best response).")
                    .WithExample("learn", "examples/learn-storage.json", "--algorithm", "q", "--plot", "curve.png", "--policy-out", "policy.json")
                    .WithExample("learn", "examples/learn-storage.json", "--evaluate", "policy.json", "--json")
                    .WithExample("learn", "examples/learn-strategic.json", "--algorithm", "dqn", "--episodes", "100");
                config.AddCommand<SettleCommand>("settle")
                    .WithDescription("Settle signed trade commitments against signed meter readings by the escrow rules; post to a hash-chained ledger.")
                    .WithExample("settle", "examples/settle/trades.csv", "examples/settle/meter-readings.csv", "--ledger", "ledger.db")
                    .WithExample("settle", "trades.csv", "readings.csv", "--market", "market.json", "--json")
                    .WithExample("settle", "trades.csv", "readings.csv", "--backend", "ethereum", "--rpc", "http://127.0.0.1:8545", "--operator-key-file", "operator.key");
                config.AddBranch("ledger", c =>
                {
                    c.SetDescription("The settlement ledger: verify the hash chain, read balances, rebuild it from a contract's events, compare two.");
                    c.AddCommand<LedgerVerifyCommand>("verify")
                        .WithDescription("Check the hash chain and the balance of every entry; exit 1 and the index of the first bad entry if not.")
                        .WithExample("ledger", "verify", "ledger.db");
                    c.AddCommand<LedgerBalanceCommand>("balance")
                        .WithDescription("Balances per participant (available, escrow, collateral, energy) from the journal.")
                        .WithExample("ledger", "balance", "ledger.db", "--participant", "0x0123456789abcdef0123456789abcdef01234567");
                    c.AddCommand<LedgerImportChainCommand>("import-chain")
                        .WithDescription("Rebuild the double-entry ledger from an EnergyEscrow contract's events (eth_getLogs), in the engine's accounts.")
                        .WithExample("ledger", "import-chain", "--rpc", "http://127.0.0.1:8545", "--contract", "0x5fbdb2315678afecb367f032d93f642f64180aa3", "--ledger", "chain.db");
                    c.AddCommand<LedgerCompareCommand>("compare")
                        .WithDescription("Compare two ledgers: both verify, equal balances per account and commodity, same postings; exit 1 and the first difference if not.")
                        .WithExample("ledger", "compare", "embedded.db", "chain.db");
                });
                config.AddBranch("keys", c =>
                {
                    c.SetDescription("Participant and meter keys (secp256k1, Ethereum addresses).");
                    c.AddCommand<KeysNewCommand>("new")
                        .WithDescription("Generate a key pair: address and private key (keep it secret).")
                        .WithExample("keys", "new", "--json");
                });
                config.AddBranch("meter", c =>
                {
                    c.SetDescription("Meter data: validation, reconciliation, synthetic data.");
                    c.AddCommand<MeterReconcileCommand>("reconcile")
                        .WithDescription("Validate meter data (rejects file) and check Σ injections = Σ withdrawals + losses per feeder and interval.")
                        .WithExample("meter", "reconcile", "meters.csv", "case33bw")
                        .WithExample("meter", "reconcile", "meters.csv", "--loss-fraction", "0.04", "--json");
                    c.AddCommand<MeterSynthCommand>("synth")
                        .WithDescription("Synthetic meter data for a feeder case (households with PV, a feeder-head meter that closes the balance).")
                        .WithExample("meter", "synth", "case33bw", "--households", "200", "--out", "meters.csv");
                });
                config.AddBranch("privacy", c =>
                {
                    c.SetDescription("Differentially private releases of meter data, with a privacy-budget ledger.");
                    c.AddCommand<PrivacyReleaseCommand>("release")
                        .WithDescription("Release sums, counts or means of household consumption with ε-DP (Laplace) or (ε,δ)-DP (Gaussian).")
                        .WithExample("privacy", "release", "meters.csv", "--query", "sum", "--by", "feeder,interval", "--epsilon", "0.5", "--max-kwh", "2");
                    c.AddCommand<PrivacyUtilityCommand>("utility")
                        .WithDescription("Relative error versus ε and number of households (table and PNG plot); releases nothing.")
                        .WithExample("privacy", "utility", "meters.csv", "--max-kwh", "2", "--png", "utility.png");
                });
                config.AddBranch("case", c =>
                {
                    c.SetDescription("Inspect and convert case files.");
                    c.AddCommand<CaseInfoCommand>("info")
                        .WithDescription("Counts, total load and generation, islands and warnings of a case.")
                        .WithExample("case", "info", "case_ACTIVSg2000");
                    c.AddCommand<CaseConvertCommand>("convert")
                        .WithDescription("Convert a case between MATPOWER (.m) and OpenTE JSON (.json).")
                        .WithExample("case", "convert", "case9", "--to", "json", "--out", "case9.json")
                        .WithExample("case", "convert", "case9.json", "--out", "case9.m");
                });
            });
            return app.Run(args);
        }
        finally
        {
            Current.Value = null;
        }
    }

    /// <summary>
    /// An error message as one printable line: control characters and bytes that were not UTF-8 (U+FFFD) from a
    /// hostile or binary input are shown as escapes, never echoed raw; an overlong message is shortened in the middle.
    /// </summary>
    public static string Printable(string message)
    {
        var sb = new System.Text.StringBuilder(Math.Min(message.Length, 700));
        foreach (var ch in message)
        {
            if (ch == '\uFFFD') sb.Append("\\ufffd");
            else if (char.IsControl(ch)) sb.Append($"\\x{(int)ch:x2}");
            else sb.Append(ch);
        }
        var s = sb.ToString();
        return s.Length <= 600 ? s : s[..400] + " … " + s[^150..];
    }

    private static int HandleError(Exception ex, TextWriter stderr) => HandleError(ex, new OneLine(stderr));

    /// <summary>Writes each line through <see cref="Printable"/>.</summary>
    private sealed class OneLine(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override void Write(char value) => inner.Write(value);
        public override void WriteLine(string? value) => inner.WriteLine(Printable(value ?? ""));
    }

    private static int HandleError(Exception ex, OneLine stderr)
    {
        switch (ex)
        {
            case InputException ie:
                stderr.WriteLine($"error: {ie.Message} — {ie.Hint}");
                return 2;
            case CommandParseException or CommandRuntimeException or CommandConfigurationException:
                stderr.WriteLine($"error: {ex.Message} (see 'opente --help')");
                return 2;
            case OpenTE.Settlement.BackendException be:
                stderr.WriteLine($"error: {be.Message} — {be.Fix}");
                return 2;
            case UsageException ue:
                stderr.WriteLine($"error: {ue.Message}");
                return 2;
            case NotSupportedException ns:
                stderr.WriteLine($"error: {ns.Message}");
                return 2;
            default:
                stderr.WriteLine($"error: unexpected failure: {ex.GetType().Name}: {ex.Message}");
                if (Environment.GetEnvironmentVariable("OPENTE_DEBUG") == "1") stderr.Write(ex + Environment.NewLine);
                return 3;
        }
    }
}

/// <summary>A usage error found by a command (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
