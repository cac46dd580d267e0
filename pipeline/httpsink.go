package pipeline

import (
	"github.com/perchml/perch"
)

func checkHTTPSink(s *perch.HTTPSink) error {
	return perch.Errorf(perch.EInvalid, "http sinks are not supported yet")
}

func openHTTPSink(def *perch.HTTPSink, pipelineID, key, version string) (sink, error) {
	return nil, checkHTTPSink(def)
}
