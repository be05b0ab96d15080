//! Loading action metadata (`action.yml`): composite, Node.js and Docker actions, and the
//! problems reported with their positions.

use slipway_workflow::{ActionRuns, Source, StepAction, load_action};

fn problems(text: &str) -> Vec<String> {
    load_action(&Source::new("action.yml", text))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_composite_action_keeps_inputs_outputs_and_steps() {
    let text = "\
name: Greet
description: says hello
inputs:
  who:
    description: whom to greet
    required: true
    default: ${{ github.actor }}
  old:
    deprecationMessage: use who
outputs:
  greeting:
    value: ${{ steps.hello.outputs.text }}
runs:
  using: composite
  steps:
    - id: hello
      run: echo \"text=hello $WHO\" >> \"$GITHUB_OUTPUT\"
      shell: bash
      env:
        WHO: ${{ inputs.who }}
    - uses: ./other
branding:
  icon: heart
";
    let action = load_action(&Source::new("greet/action.yml", text)).unwrap();
    assert_eq!(action.name.unwrap().value, "Greet");
    assert_eq!(action.inputs.keys().collect::<Vec<_>>(), ["who", "old"]);
    let who = &action.inputs["who"].value;
    assert!(who.required);
    assert_eq!(who.default.as_ref().unwrap().raw(), "${{ github.actor }}");
    assert_eq!(
        action.inputs["old"].value.deprecation_message.as_deref(),
        Some("use who")
    );
    assert_eq!(
        action.outputs["greeting"]
            .value
            .value
            .as_ref()
            .unwrap()
            .raw(),
        "${{ steps.hello.outputs.text }}"
    );
    let ActionRuns::Composite { steps } = &action.runs else {
        panic!("{:?}", action.runs)
    };
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].shell.as_ref().unwrap().value, "bash");
    assert!(matches!(&steps[1].action, StepAction::Uses(uses) if uses.value == "./other"));
}

#[test]
fn node_and_docker_actions_name_what_they_run() {
    let node = load_action(&Source::new(
        "a.yml",
        "runs:\n  using: node20\n  main: dist/index.js\n  post: dist/post.js\n  post-if: failure()\n",
    ))
    .unwrap();
    let ActionRuns::Node {
        using,
        main,
        post,
        post_if,
        ..
    } = node.runs
    else {
        panic!()
    };
    assert_eq!(using.value, "node20");
    assert_eq!(main.value, "dist/index.js");
    assert_eq!(post.unwrap().value, "dist/post.js");
    assert_eq!(post_if.unwrap().source.raw(), "failure()");
    let docker = load_action(&Source::new(
        "a.yml",
        "runs:\n  using: docker\n  image: Dockerfile\n  args: ['${{ inputs.x }}']\n",
    ))
    .unwrap();
    assert!(
        matches!(docker.runs, ActionRuns::Docker { image, args, .. } if image.value == "Dockerfile" && args.len() == 1)
    );
}

#[test]
fn problems_are_reported_with_positions() {
    assert_eq!(
        problems("runs:\n  using: node99\n  main: x.js\n"),
        [
            "action.yml:2:10: unknown 'using: node99'; expected composite, docker or one of node12, node16, node20, node24 [syntax-check]"
        ]
    );
    assert_eq!(
        problems("runs:\n  using: composite\n  main: x.js\n  steps:\n    - run: echo\n"),
        [
            "action.yml:3:3: 'main' is not allowed with 'using: composite'; expected one of: using, steps [syntax-check]",
            "action.yml:5:7: a 'run' step of a composite action must name its 'shell' [syntax-check]",
        ]
    );
    assert_eq!(
        problems("name: x\nouputs: {}\nruns:\n  using: composite\n  steps: []\n"),
        [
            "action.yml:2:1: unknown key 'ouputs' in the action; expected one of: name, author, description, inputs, outputs, runs, branding [syntax-check]"
        ]
    );
    assert_eq!(
        problems("outputs:\n  x:\n    description: d\nruns:\n  using: composite\n  steps: []\n"),
        [
            "action.yml:2:3: output 'x' of a composite action is missing required key 'value' [syntax-check]"
        ]
    );
    assert_eq!(
        problems("name: x\n"),
        ["action.yml:1:1: the action is missing required key 'runs' [syntax-check]"]
    );
}
