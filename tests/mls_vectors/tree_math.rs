//! `tree-math.json`.

use super::*;

#[derive(Deserialize)]
struct TreeMathCase {
    n_leaves: u32,
    n_nodes: u32,
    root: u32,
    left: Vec<Option<u32>>,
    right: Vec<Option<u32>>,
    parent: Vec<Option<u32>>,
    sibling: Vec<Option<u32>>,
}

#[test]
fn tree_math_vectors() {
    let cases: Vec<TreeMathCase> = load("tree-math.json");
    run_cases("tree-math.json", &cases, |case| {
        let tree = check("tree size", TreeSize::new(case.n_leaves))?;
        if tree.node_count() != case.n_nodes {
            return Err(format!("node count {}", tree.node_count()));
        }
        if tree.root() != NodeIndex(case.root) {
            return Err(format!("root {:?}", tree.root()));
        }
        let columns = [&case.left, &case.right, &case.parent, &case.sibling];
        if columns
            .iter()
            .any(|column| column.len() != case.n_nodes as usize)
        {
            return Err("column length differs from n_nodes".into());
        }
        for index in 0..case.n_nodes {
            let node = NodeIndex(index);
            let at = index as usize;
            let actual = [
                node.left(),
                node.right(),
                tree.parent(node),
                tree.sibling(node),
            ];
            for (name, (got, column)) in ["left", "right", "parent", "sibling"]
                .iter()
                .zip(actual.iter().zip(columns))
            {
                if got.map(|n| n.0) != column[at] {
                    return Err(format!(
                        "{name}({index}) = {got:?}, expected {:?}",
                        column[at]
                    ));
                }
            }
        }
        Ok(())
    });
}
