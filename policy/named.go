package policy

import (
	"slices"

	"github.com/perchml/perch"
)

// The ready-made policies, for keys that need one of the usual roles
// without writing a policy. Each is made afresh by Named, so a caller may
// change what it is given.
//
//   - admin may do everything, as the root key may: make keys, and
//     create pipelines, which read and write wherever they point.
//   - trainer does the machine learning: every AML operation (data
//     sources, models, evaluations, batch predictions, their tags,
//     endpoints, Predict), the objects they read and write, reading
//     pipelines and metrics. It may not touch keys, the audit log or
//     usage, nor change pipelines: a pipeline reads and writes wherever
//     it points, unattended, which is an operator's decision.
//   - predictor may predict and find the models to predict with, nothing
//     else: for a key shipped inside an application.
//   - reader may read everything a Get, Describe or List shows, objects
//     and metrics, and change nothing.
//
// Their actions are named one by one, except AML's whole set for trainer
// (AML's operations are fixed), so that an action added to perch is not
// granted by a role before someone decides it should be.
var named = map[string]func() *perch.Policy{
	"admin": func() *perch.Policy {
		return document(allow("Admin", "*"))
	},
	"trainer": func() *perch.Policy {
		return document(
			allow("AmazonML", "machinelearning:*"),
			allow("Objects", "perch:PutObject", "perch:GetObject", "perch:DeleteObject", "perch:ListObjects"),
			allow("Read", "perch:GetPipeline", "perch:ListPipelines", "perch:ReadMetrics"),
		)
	},
	"predictor": func() *perch.Policy {
		return document(allow("Predict", "machinelearning:Predict", "machinelearning:GetMLModel", "machinelearning:DescribeMLModels"))
	},
	"reader": func() *perch.Policy {
		return document(allow("Read",
			"machinelearning:GetDataSource", "machinelearning:DescribeDataSources",
			"machinelearning:GetMLModel", "machinelearning:DescribeMLModels",
			"machinelearning:GetEvaluation", "machinelearning:DescribeEvaluations",
			"machinelearning:GetBatchPrediction", "machinelearning:DescribeBatchPredictions",
			"machinelearning:DescribeTags",
			"perch:GetObject", "perch:ListObjects",
			"perch:GetPipeline", "perch:ListPipelines",
			"perch:GetKey", "perch:ListKeys",
			"perch:ReadMetrics",
		))
	},
}

// Named returns the ready-made policy of that name (see Names); ok is
// false for a name there is none of.
func Named(name string) (p *perch.Policy, ok bool) {
	f, ok := named[name]
	if !ok {
		return nil, false
	}
	return f(), true
}

// Names lists the ready-made policies' names, sorted.
func Names() []string {
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func document(sts ...perch.Statement) *perch.Policy {
	return &perch.Policy{Version: Version, Statement: sts}
}

// allow allows actions on every resource.
func allow(sid string, actions ...string) perch.Statement {
	return perch.Statement{Sid: sid, Effect: perch.Allow, Action: actions, Resource: perch.StringList{"*"}}
}
