using System.Numerics.Tensors;

namespace OpenTE.Agents.Learning;

/// <summary>
/// A small multilayer perceptron: tanh hidden layers, linear output. All weights live in one flat array
/// (<see cref="Parameters"/>), layer by layer, each layer its weights W (out × in, row-major) then its biases b;
/// <see cref="Gradient"/> has the same layout. Forward and backward use TensorPrimitives dot products.
/// </summary>
public sealed class Mlp
{
    public int[] Sizes { get; }
    public double[] Parameters { get; }
    public double[] Gradient { get; }
    private readonly int[] _offset; // start of layer l's weights
    private readonly double[][] _act; // activations per layer (input included)
    private readonly double[][] _delta;

    public Mlp(int[] sizes, int seed)
    {
        if (sizes.Length < 2 || sizes.Any(s => s <= 0)) throw new ArgumentException("an MLP needs at least an input and an output layer of positive sizes");
        Sizes = sizes;
        _offset = new int[sizes.Length - 1];
        int n = 0;
        for (int l = 0; l < sizes.Length - 1; l++) { _offset[l] = n; n += sizes[l + 1] * (sizes[l] + 1); }
        Parameters = new double[n];
        Gradient = new double[n];
        _act = [.. sizes.Select(s => new double[s])];
        _delta = [.. sizes.Select(s => new double[s])];
        var rng = new Random(seed);
        for (int l = 0; l < sizes.Length - 1; l++)
        {
            // Xavier/Glorot uniform for tanh
            double r = Math.Sqrt(6.0 / (sizes[l] + sizes[l + 1]));
            for (int k = 0; k < sizes[l + 1] * sizes[l]; k++) Parameters[_offset[l] + k] = (2 * rng.NextDouble() - 1) * r;
        }
    }

    public int Inputs => Sizes[0];
    public int Outputs => Sizes[^1];

    /// <summary>The output for <paramref name="x"/> (a view valid until the next call).</summary>
    public ReadOnlySpan<double> Forward(ReadOnlySpan<double> x)
    {
        if (x.Length != Inputs) throw new ArgumentException($"the input has {x.Length} features, the network {Inputs}");
        x.CopyTo(_act[0]);
        for (int l = 0; l < Sizes.Length - 1; l++)
        {
            int nin = Sizes[l], nout = Sizes[l + 1];
            var w = Parameters.AsSpan(_offset[l], nout * nin);
            var b = Parameters.AsSpan(_offset[l] + nout * nin, nout);
            var a = _act[l];
            var z = _act[l + 1];
            for (int j = 0; j < nout; j++) z[j] = TensorPrimitives.Dot<double>(w.Slice(j * nin, nin), a) + b[j];
            if (l < Sizes.Length - 2) TensorPrimitives.Tanh<double>(z, z);
        }
        return _act[^1];
    }

    /// <summary>After <see cref="Forward"/> on the same input: adds ∂L/∂θ to <see cref="Gradient"/> given ∂L/∂output.</summary>
    public void Backward(ReadOnlySpan<double> dOutput)
    {
        dOutput.CopyTo(_delta[^1]);
        for (int l = Sizes.Length - 2; l >= 0; l--)
        {
            int nin = Sizes[l], nout = Sizes[l + 1];
            var w = Parameters.AsSpan(_offset[l], nout * nin);
            var gw = Gradient.AsSpan(_offset[l], nout * nin);
            var gb = Gradient.AsSpan(_offset[l] + nout * nin, nout);
            var d = _delta[l + 1];
            var a = _act[l];
            for (int j = 0; j < nout; j++)
            {
                if (d[j] == 0) continue;
                TensorPrimitives.MultiplyAdd<double>(a, d[j], gw.Slice(j * nin, nin), gw.Slice(j * nin, nin));
                gb[j] += d[j];
            }
            if (l == 0) break;
            var dPrev = _delta[l];
            Array.Clear(dPrev);
            for (int j = 0; j < nout; j++)
                if (d[j] != 0) TensorPrimitives.MultiplyAdd<double>(w.Slice(j * nin, nin), d[j], dPrev, dPrev);
            // tanh'(z) = 1 − a²
            for (int i = 0; i < nin; i++) dPrev[i] *= 1 - a[i] * a[i];
        }
    }

    public void ZeroGradient() => Array.Clear(Gradient);

    public void CopyFrom(Mlp other) => Array.Copy(other.Parameters, Parameters, Parameters.Length);
}

/// <summary>Adam (Kingma &amp; Ba 2015) on a flat parameter array: bias-corrected first and second moments.</summary>
public sealed class Adam(int n, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
{
    private readonly double[] _m = new double[n], _v = new double[n];
    private int _t;
    public double LearningRate { get; set; } = learningRate;

    public void Step(double[] parameters, double[] gradient)
    {
        _t++;
        double c1 = 1 - Math.Pow(beta1, _t), c2 = 1 - Math.Pow(beta2, _t);
        for (int i = 0; i < parameters.Length; i++)
        {
            double g = gradient[i];
            _m[i] = beta1 * _m[i] + (1 - beta1) * g;
            _v[i] = beta2 * _v[i] + (1 - beta2) * g * g;
            parameters[i] -= LearningRate * (_m[i] / c1) / (Math.Sqrt(_v[i] / c2) + epsilon);
        }
    }
}
