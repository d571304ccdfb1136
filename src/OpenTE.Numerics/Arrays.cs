namespace OpenTE.Numerics;

/// <summary>
/// Fills without the framework's generic <c>Array.Fill&lt;T&gt;</c>: ReadyToRun cannot precompile a framework generic for
/// our calls (<c>SpanHelpers.Fill&lt;int&gt;</c>, 862 bytes of IL, and its vector helpers), so every cold process that
/// reached one compiled it with the JIT inside its first solve. These plain loops are precompiled with the assembly.
/// </summary>
public static class Arrays
{
    public static void Fill(int[] array, int value)
    {
        for (int i = 0; i < array.Length; i++) array[i] = value;
    }

    public static void Fill(double[] array, double value)
    {
        for (int i = 0; i < array.Length; i++) array[i] = value;
    }
}
