using System.Text.RegularExpressions;
using Xunit;

namespace OpenTE.Numerics.Tests;

/// <summary>
/// The CLI ships its code compiled ahead of time (ReadyToRun, x86-64-v3). A method whose precompiled code depends on whether the
/// processor has AVX-512 is rejected at start-up on one that has it, and then runs as unoptimised tier-0 code inside the first
/// solve of every command: `Vector512.IsHardwareAccelerated` and the all-lanes comparisons `EqualsAll`/`EqualsAny` did that to
/// the LDLᵀ kernels and the KKT maxima (seen with DOTNET_JitDisasmSummary=1; a cold AC OPF 0.63 s instead of 0.45 s). The 512-bit
/// loops live in the class `Wide` (JIT-compiled on purpose, fully optimised, behind a run-time flag); nothing else may use them.
/// </summary>
public class PrecompiledKernelsTests
{
    private static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) return Path.Combine(dir.FullName, "src");
        throw new DirectoryNotFoundException("OpenTE.slnx not found above the test's folder");
    }

    [Fact]
    public void No_source_file_uses_Vector512_or_all_lanes_equality_outside_the_Wide_kernels()
    {
        var offenders = new List<string>();
        var files = Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.True(files.Count > 50, $"only {files.Count} source files found under {SourceRoot()}");
        var pattern = new Regex(@"\bVector512\s*[.<]|\.(EqualsAll|EqualsAny)\s*\(");
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            bool inWide = false;
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i];
                if (Regex.IsMatch(line, @"^\s*internal static class Wide\b")) inWide = true;
                string code = line.Split("//", 2)[0];
                if (code.TrimStart().StartsWith("///") || code.TrimStart().StartsWith('*')) continue;
                if (pattern.IsMatch(code) && !inWide) offenders.Add($"{Path.GetRelativePath(SourceRoot(), file)}:{i + 1}: {line.Trim()}");
            }
        }
        Assert.True(offenders.Count == 0, "AVX-512-dependent SIMD outside the Wide kernels (move it there):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_Wide_kernels_are_there_and_compiled_by_the_JIT_on_purpose()
    {
        string ldl = File.ReadAllText(Path.Combine(SourceRoot(), "OpenTE.Numerics", "Sparse", "SparseLdl.cs"));
        int at = ldl.IndexOf("internal static class Wide", StringComparison.Ordinal);
        Assert.True(at >= 0);
        string wide = ldl[at..];
        // each 512-bit kernel is optimised at its first call instead of running as tier-0 code
        int kernels = Regex.Matches(wide, @"public static unsafe int \w+\(").Count;
        Assert.Equal(3, kernels);
        Assert.Equal(kernels, Regex.Matches(wide, @"MethodImplOptions\.AggressiveOptimization").Count);
    }

    /// <summary>
    /// `[]` for an array of doubles is `Array.Empty&lt;double&gt;()`, a framework generic that ReadyToRun does not precompile for us: one
    /// such field initialiser (NewtonRaphson's, SparseLU's) made the JIT compile it inside the first solve of every cold pf and OPF.
    /// The solver libraries use <see cref="Arrays.NoDoubles"/> instead.
    /// </summary>
    [Fact]
    public void The_solver_libraries_do_not_use_the_framework_empty_array_of_doubles()
    {
        var offenders = new List<string>();
        var declaration = new Regex(@"double\[\]\??\s+\w+\s*=\s*\[\]|double\[\]\??\s+\w+\s*=[^;]*,\s*\w+\s*=\s*\[\]|Array\.Empty<double>");
        foreach (var project in new[] { "OpenTE.Numerics", "OpenTE.Grid", "OpenTE.Market" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(SourceRoot(), project), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                {
                    string code = lines[i].Split("//", 2)[0];
                    if (declaration.IsMatch(code)) offenders.Add($"{Path.GetRelativePath(SourceRoot(), file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        Assert.True(offenders.Count == 0, "an empty array of doubles from the framework (use Arrays.NoDoubles):\n" + string.Join("\n", offenders));
        Assert.Empty(Arrays.NoDoubles);
    }
}
