using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace OpenTE.Cli.Tests;

/// <summary>
/// The factorisation and the interior point use 512-bit vectors where the processor has them (the JIT-compiled <c>Wide</c>
/// kernels), 256-bit ones otherwise, and scalar loops without AVX2. Each 512-bit lane does the 256-bit lane's operations in
/// the same order, so switching AVX-512 off (DOTNET_EnableAVX512=0; .NET 10 has no separate AVX512F switch any more — DOTNET_EnableAVX512F=0 leaves 512-bit vectors on) must print the same AC OPF byte for byte but for the solve
/// time. Without AVX2 (or any intrinsics) the scalar dot products add in another order than the four lanes do, so the numbers
/// differ in their last bits — measured: 8e-11 relative at most, on a multiplier — but the iterations and the objective must
/// not. On a processor without AVX-512 the first two runs coincide; without AVX2 all four use the scalar loops.
/// </summary>
public class VectorWidthTests
{
    private static JsonObject Run(params (string Name, string Value)[] env)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "opente.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "opf", "case_ACTIVSg2000", "--model", "ac", "--json"])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["OPENTE_STARTUP_PROFILE"] = "0"; // no startup profile written into the user's cache by a test
        foreach (var (name, value) in env) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "opf did not finish");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stderr.Result}");
        var json = JsonNode.Parse(stdout.Result)!.AsObject();
        json.Remove("solveSeconds");
        return json;
    }

    /// <summary>Every number of a within rel·max(1, |a|, |b|) of b's, everything else equal; returns the largest relative difference.</summary>
    private static double Compare(JsonNode? a, JsonNode? b, string path, double rel)
    {
        switch (a)
        {
            case JsonObject o:
                var ob = Assert.IsType<JsonObject>(b);
                Assert.Equal(o.Select(kv => kv.Key), ob.Select(kv => kv.Key));
                return o.Select(kv => Compare(kv.Value, ob[kv.Key], path + "." + kv.Key, rel)).DefaultIfEmpty(0).Max();
            case JsonArray arr:
                var ab = Assert.IsType<JsonArray>(b);
                Assert.Equal(arr.Count, ab.Count);
                return arr.Select((x, i) => Compare(x, ab[i], $"{path}[{i}]", rel)).DefaultIfEmpty(0).Max();
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                double x = v.GetValue<double>(), y = b!.GetValue<double>();
                double d = Math.Abs(x - y) / Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y)));
                Assert.True(d <= rel, $"{path}: {x:R} against {y:R}");
                return d;
            default:
                Assert.Equal(a?.ToJsonString(), b?.ToJsonString());
                return 0;
        }
    }

    [Fact]
    public void The_AC_OPF_does_not_depend_on_the_vector_width()
    {
        var widest = Run();
        Assert.Equal(33, widest["iterations"]!.GetValue<int>()); // case_ACTIVSg2000's run, not an error object
        Assert.Equal(widest.ToJsonString(), Run(("DOTNET_EnableAVX512", "0")).ToJsonString());
        foreach (var scalar in new[] { Run(("DOTNET_EnableAVX512", "0"), ("DOTNET_EnableAVX2", "0")), Run(("DOTNET_EnableHWIntrinsic", "0")) })
        {
            Assert.Equal(33, scalar["iterations"]!.GetValue<int>());
            double f = widest["objective"]!.GetValue<double>(), g = scalar["objective"]!.GetValue<double>();
            Assert.True(Math.Abs(f - g) <= 1e-12 * Math.Abs(f), $"objective {f:R} against {g:R}");
            Compare(widest, scalar, "", 1e-9);
        }
    }
}
