package recipe_test

import (
	"fmt"

	"github.com/perchml/perch"
	"github.com/perchml/perch/recipe"
)

func Example() {
	s := &perch.Schema{
		TargetAttributeName: "spam",
		Attributes: []perch.Attribute{
			{Name: "text", Type: perch.Text},
			{Name: "sender", Type: perch.Categorical},
			{Name: "spam", Type: perch.Binary},
		},
	}
	r, err := recipe.Parse([]byte(`{"outputs":["ALL_CATEGORICAL","ngram(lowercase(no_punct(text)), 2)"]}`))
	if err != nil {
		panic(err)
	}
	plan, err := recipe.Compile(r, s)
	if err != nil {
		panic(err)
	}
	m, err := plan.Fit([][]string{
		{"Free call now!", "shop", "1"},
		{"Call me later", "", "0"},
	})
	if err != nil {
		panic(err)
	}
	var v perch.Vector
	m.Map([]string{"call NOW", "", ""}, &v)
	for j, i := range v.Index {
		fmt.Printf("%s %.3f\n", m.FeatureName(i), v.Value[j])
	}
	// Output:
	// sender=missing 1.000
	// ngram(lowercase(no_punct(text)),2)=call 1.291
	// ngram(lowercase(no_punct(text)),2)=call now 1.291
	// ngram(lowercase(no_punct(text)),2)=now 1.291
}
