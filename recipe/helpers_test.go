package recipe

import (
	"testing"

	"github.com/perchml/perch"
)

// adultSchema is the schema of aml-api.md section 7.1.
func adultSchema() *perch.Schema {
	s := &perch.Schema{
		Version:                "1.0",
		TargetAttributeName:    "income",
		DataFormat:             "CSV",
		DataFileContainsHeader: true,
		ExcludedAttributeNames: []string{"fnlwgt"},
	}
	for _, a := range []struct {
		n string
		t perch.AttributeType
	}{
		{"age", perch.Numeric}, {"workclass", perch.Categorical}, {"fnlwgt", perch.Numeric},
		{"education", perch.Categorical}, {"education_num", perch.Numeric},
		{"marital_status", perch.Categorical}, {"occupation", perch.Categorical},
		{"relationship", perch.Categorical}, {"race", perch.Categorical}, {"sex", perch.Categorical},
		{"capital_gain", perch.Numeric}, {"capital_loss", perch.Numeric},
		{"hours_per_week", perch.Numeric}, {"native_country", perch.Categorical},
		{"income", perch.Binary},
	} {
		s.Attributes = append(s.Attributes, perch.Attribute{Name: a.n, Type: a.t})
	}
	return s
}

const adultRecipe = `{"groups":{"NUM_TO_BIN":"group(age, hours_per_week, education_num)",
           "MONEY":"group(capital_gain, capital_loss)"},
 "assignments":{"edu_x_occ":"cartesian(education, occupation)",
                "sex_x_marital":"cartesian(sex, marital_status)"},
 "outputs":["ALL_CATEGORICAL","quantile_bin(NUM_TO_BIN, 10)","normalize(MONEY)","edu_x_occ","sex_x_marital"]}`

// adultRows are a few records in the form of the Adult data files.
var adultRows = [][]string{
	{"39", "State-gov", "77516", "Bachelors", "13", "Never-married", "Adm-clerical", "Not-in-family", "White", "Male", "2174", "0", "40", "United-States", "0"},
	{"50", "Self-emp-not-inc", "83311", "Bachelors", "13", "Married-civ-spouse", "Exec-managerial", "Husband", "White", "Male", "0", "0", "13", "United-States", "0"},
	{"38", "Private", "215646", "HS-grad", "9", "Divorced", "Handlers-cleaners", "Not-in-family", "White", "Male", "0", "0", "40", "United-States", "0"},
	{"53", "Private", "234721", "11th", "7", "Married-civ-spouse", "Handlers-cleaners", "Husband", "Black", "Male", "0", "0", "40", "United-States", "0"},
	{"28", "Private", "338409", "Bachelors", "13", "Married-civ-spouse", "Prof-specialty", "Wife", "Black", "Female", "0", "0", "40", "Cuba", "0"},
	{"37", "Private", "284582", "Masters", "14", "Married-civ-spouse", "Exec-managerial", "Wife", "White", "Female", "0", "0", "40", "United-States", "0"},
	{"49", "Private", "160187", "9th", "5", "Married-spouse-absent", "Other-service", "Not-in-family", "Black", "Female", "0", "0", "16", "Jamaica", "0"},
	{"52", "Self-emp-not-inc", "209642", "HS-grad", "9", "Married-civ-spouse", "Exec-managerial", "Husband", "White", "Male", "0", "0", "45", "United-States", "1"},
	{"31", "Private", "45781", "Masters", "14", "Never-married", "Prof-specialty", "Not-in-family", "White", "Female", "14084", "0", "50", "United-States", "1"},
	{"42", "Private", "159449", "Bachelors", "13", "Married-civ-spouse", "Exec-managerial", "Husband", "White", "Male", "5178", "0", "40", "United-States", "1"},
	{"37", "Private", "280464", "Some-college", "10", "Married-civ-spouse", "Exec-managerial", "Husband", "Black", "Male", "0", "0", "80", "United-States", "1"},
	{"30", "State-gov", "141297", "Bachelors", "13", "Married-civ-spouse", "Prof-specialty", "Husband", "Asian-Pac-Islander", "Male", "0", "0", "40", "India", "1"},
	{"23", "", "122272", "Bachelors", "13", "Never-married", "", "Own-child", "White", "Female", "0", "0", "30", "", "0"},
}

func mustFit(t testing.TB, recipe string, s *perch.Schema, rows [][]string) *Mapper {
	t.Helper()
	r, err := Parse([]byte(recipe))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(r, s)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Fit(rows)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
