namespace OpenTE.Numerics;

/// <summary>
/// Fills without the framework's generic <c>Array.Fill&lt;T&gt;</c>: ReadyToRun cannot precompile a framework generic for
/// our calls (<c>SpanHelpers.Fill&lt;int&gt;</c>, 862 bytes of IL, and its vector helpers), so every cold process that
/// reached one compiled it with the JIT inside its first solve. These plain loops are precompiled with the assembly.
/// </summary>
public static class Arrays
{
    /// <summary>
    /// An empty array of doubles for field initialisers, instead of <c>[]</c>: that is <c>Array.Empty&lt;double&gt;()</c>, a framework
    /// generic that ReadyToRun does not precompile for us, so the JIT compiled it inside the first solve of every cold command
    /// (<c>Array.Empty&lt;int&gt;</c> is precompiled by the framework itself).
    /// </summary>
    public static readonly double[] NoDoubles = new double[0];

    public static void Fill(int[] array, int value)
    {
        for (int i = 0; i < array.Length; i++) array[i] = value;
    }

    public static void Fill(double[] array, double value)
    {
        for (int i = 0; i < array.Length; i++) array[i] = value;
    }
}
