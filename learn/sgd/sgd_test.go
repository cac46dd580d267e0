package sgd

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/perchml/perch"
)

// synthetic builds n rows of 5 dense features with known coefficients.
func synthetic(n int, t perch.ModelType, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	coef := []float64{2, -1, 0.5, 0, 1.5}
	d := &Data{Dim: len(coef)}
	var v perch.Vector
	for i := 0; i < n; i++ {
		v.Reset()
		z := 0.3
		for j, c := range coef {
			x := rng.NormFloat64()
			v.Add(int32(j), x)
			z += c * x
		}
		var y float64
		switch t {
		case perch.BinaryModel:
			if rng.Float64() < 1/(1+math.Exp(-z)) {
				y = 1
			}
		case perch.RegressionModel:
			y = 10 + 3*z + 0.1*rng.NormFloat64()
		default:
			switch {
			case z < -1:
				y = 0
			case z < 1:
				y = 1
			default:
				y = 2
			}
		}
		d.Append(&v, y)
	}
	return d
}

func TestBinaryRecoversCoefficients(t *testing.T) {
	d := synthetic(20000, perch.BinaryModel, 1)
	m, err := Train(d, perch.BinaryModel, 2, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2, -1, 0.5, 0, 1.5}
	for j, w := range want {
		if math.Abs(m.W[j]-w) > 0.25 {
			t.Errorf("weight %d = %.3f, want about %.1f", j, m.W[j], w)
		}
	}
	if math.Abs(m.Bias[0]-0.3) > 0.2 {
		t.Errorf("bias = %.3f, want about 0.3", m.Bias[0])
	}
}

func TestRegressionFits(t *testing.T) {
	d := synthetic(5000, perch.RegressionModel, 2)
	m, err := Train(d, perch.RegressionModel, 1, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var se float64
	out := make([]float64, 1)
	for i := 0; i < d.Rows(); i++ {
		v := perch.Vector{Index: d.Idx[d.Ptr[i]:d.Ptr[i+1]], Value: d.Val[d.Ptr[i]:d.Ptr[i+1]]}
		m.Score(&v, out)
		se += (out[0] - d.Y[i]) * (out[0] - d.Y[i])
	}
	if rmse := math.Sqrt(se / float64(d.Rows())); rmse > 0.3 {
		t.Errorf("RMSE %.3f, want < 0.3 (noise is 0.1, target std about 8)", rmse)
	}
}

func TestMulticlassSeparates(t *testing.T) {
	d := synthetic(6000, perch.MulticlassModel, 3)
	m, err := Train(d, perch.MulticlassModel, 3, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	out := make([]float64, 3)
	for i := 0; i < d.Rows(); i++ {
		v := perch.Vector{Index: d.Idx[d.Ptr[i]:d.Ptr[i+1]], Value: d.Val[d.Ptr[i]:d.Ptr[i+1]]}
		m.Score(&v, out)
		best := 0
		for c := range out {
			if out[c] > out[best] {
				best = c
			}
		}
		if math.Abs(out[0]+out[1]+out[2]-1) > 1e-9 {
			t.Fatalf("probabilities sum to %v", out[0]+out[1]+out[2])
		}
		if float64(best) == d.Y[i] {
			right++
		}
	}
	if acc := float64(right) / float64(d.Rows()); acc < 0.9 {
		t.Errorf("accuracy %.3f, want ≥ 0.9", acc)
	}
}

func TestDeterministic(t *testing.T) {
	d := synthetic(3000, perch.BinaryModel, 4)
	a, _ := Train(d, perch.BinaryModel, 2, DefaultParams(), nil)
	b, _ := Train(d, perch.BinaryModel, 2, DefaultParams(), nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with one seed differ")
	}
	p := DefaultParams()
	p.Seed = 99
	c, _ := Train(d, perch.BinaryModel, 2, p, nil)
	if reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the very same model: shuffling is not seeded")
	}
}

func TestL1Shrinks(t *testing.T) {
	d := synthetic(5000, perch.BinaryModel, 5)
	plain, _ := Train(d, perch.BinaryModel, 2, DefaultParams(), nil)
	p := DefaultParams()
	p.L1 = 0.05
	m, _ := Train(d, perch.BinaryModel, 2, p, nil)
	if a, b := math.Abs(m.W[3]), math.Abs(plain.W[3]); a > 0.001 || a > b/5 {
		t.Errorf("the feature with no signal has weight %v under L1, %v without", m.W[3], plain.W[3])
	}
	if math.Abs(m.W[0]) < 1 {
		t.Errorf("L1 crushed the strongest feature too: %v", m.W[0])
	}
}

func TestParseParams(t *testing.T) {
	p, err := ParseParams(map[string]string{"sgd.maxPasses": "3", "sgd.shuffleType": "none", "sgd.l2RegularizationAmount": "1e-6", "algorithm": "sgd"})
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxPasses != 3 || p.Shuffle || p.L2 != 1e-6 {
		t.Errorf("got %+v", p)
	}
	for kv, want := range map[[2]string]string{
		{"sgd.maxPasses", "0"}:               `parameter sgd.maxPasses: "0" is not an integer from 1 to 10000`,
		{"sgd.shuffleType", "sometimes"}:     `parameter sgd.shuffleType: "sometimes" is not auto or none`,
		{"sgd.maxMLModelSizeInBytes", "10"}:  `parameter sgd.maxMLModelSizeInBytes: "10" is not an integer from 100000 to 2147483648`,
		{"sgd.l1RegularizationAmount", "-1"}: `parameter sgd.l1RegularizationAmount: "-1" is not a number ≥ 0`,
		{"sgd.maxPasess", "3"}:               `parameter sgd.maxPasess: unknown training parameter`,
	} {
		_, err := ParseParams(map[string]string{kv[0]: kv[1]})
		if err == nil || err.Error() != want {
			t.Errorf("%s=%s: got %v, want %q", kv[0], kv[1], err, want)
		}
	}
	_, err = ParseParams(map[string]string{"sgd.l1RegularizationAmount": "1e-8", "sgd.l2RegularizationAmount": "1e-6"})
	if err == nil {
		t.Error("L1 and L2 together were accepted")
	}
}

// Building the rows in Permutation order must train the same model as
// letting Train shuffle them.
func TestPreShuffledSameModel(t *testing.T) {
	d := synthetic(2000, perch.BinaryModel, 6)
	p := DefaultParams()
	a, _ := Train(d, perch.BinaryModel, 2, p, nil)
	pre := &Data{Dim: d.Dim, Shuffled: true}
	for _, r := range Permutation(d.Rows(), p) {
		v := perch.Vector{Index: d.Idx[d.Ptr[r]:d.Ptr[r+1]], Value: d.Val[d.Ptr[r]:d.Ptr[r+1]]}
		pre.Append(&v, d.Y[r])
	}
	b, _ := Train(pre, perch.BinaryModel, 2, p, nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("pre-shuffled rows trained another model")
	}
}
