// A moddle descriptor for the SpiffWorkflow "spiff" extensions this host reads (docs/modelling.md).
// Every spiffworkflow element our diagrams use is declared here: bpmn-moddle drops elements of a
// known namespace it has no type for, so a missing type would lose data on save. The editor also
// refuses to save a diagram whose import warned about anything it could not read.
export default {
  name: "SpiffWorkflow",
  prefix: "spiffworkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    {
      name: "Properties",
      superClass: ["Element"],
      properties: [{ name: "properties", type: "Property", isMany: true }],
    },
    {
      name: "Property",
      superClass: ["Element"],
      properties: [
        { name: "name", type: "String", isAttr: true },
        { name: "value", type: "String", isAttr: true },
      ],
    },
    { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "MessageVariable", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    {
      name: "ServiceTaskOperator",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "resultVariable", type: "String", isAttr: true },
        { name: "parameterList", type: "Parameters" },
      ],
    },
    {
      name: "Parameters",
      superClass: ["Element"],
      properties: [{ name: "parameters", type: "Parameter", isMany: true }],
    },
    {
      name: "Parameter",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "type", type: "String", isAttr: true },
        { name: "value", type: "String", isAttr: true },
      ],
    },
  ],
  enumerations: [],
};
