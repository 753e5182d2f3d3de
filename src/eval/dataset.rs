//! Which images an evaluation runs on: a labels CSV or class folders, a seeded subset, a shard.

use crate::error::{Access, Error, Result};
use std::path::{Path, PathBuf};

/// One image to evaluate: its file, the id written in the CSV, and its label as a group of
/// class indices (one class for ImageNet; several for "cat" with an ImageNet model).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub file: PathBuf,
    pub id: String,
    pub label: Vec<usize>,
}

/// `file,class_index` rows (a header line is skipped); files relative to `images` (default: an
/// `images/` folder beside the CSV if there is one, else the CSV's folder).
pub fn items_from_csv(csv: &Path, images: Option<&Path>) -> Result<Vec<Item>> {
    let text = std::fs::read_to_string(csv).map_err(Error::io(Access::Read, csv))?;
    let dir = csv.parent().unwrap_or(Path::new("."));
    let images = images
        .map(Path::to_path_buf)
        .unwrap_or_else(|| match dir.join("images") {
            d if d.is_dir() => d,
            _ => dir.to_path_buf(),
        });
    let mut items = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = || {
            Error::Invalid(format!(
                "{} line {}: expected file,class_index, found '{line}'",
                csv.display(),
                n + 1
            ))
        };
        let (file, class) = line.split_once(',').ok_or_else(bad)?;
        match class.trim().parse::<usize>() {
            Ok(c) => items.push(Item {
                file: images.join(file.trim()),
                id: file.trim().to_string(),
                label: vec![c],
            }),
            Err(_) if n == 0 => continue, // header
            Err(_) => return Err(bad()),
        }
    }
    Ok(items)
}

/// Parses `name=281-285` or `name=1,5,9` (a folder name and its classes).
pub fn parse_group(spec: &str) -> Result<(String, Vec<usize>)> {
    let bad = || {
        Error::Invalid(format!(
            "expected folder=classes (e.g. cat=281-285), found '{spec}'"
        ))
    };
    let (name, classes) = spec.split_once('=').ok_or_else(bad)?;
    let mut out = vec![];
    for part in classes.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    Ok((name.trim().to_string(), out))
}

/// Images in class folders `root/<name>/…`, labelled by the groups given for each name.
pub fn items_from_folders(root: &Path, groups: &[(String, Vec<usize>)]) -> Result<Vec<Item>> {
    let mut items = vec![];
    for (name, classes) in groups {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(Error::io(Access::Read, &dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let id = format!(
                "{name}/{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            items.push(Item {
                file: f,
                id,
                label: classes.clone(),
            });
        }
    }
    Ok(items)
}

/// Slice `index` of `count` of a run (`--shard I/N`, or a Slurm array job's task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` with `I < N`.
    pub fn parse(s: &str) -> Result<Shard> {
        s.split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)))
            .filter(|(i, n)| i < n)
            .map(|(index, count)| Shard { index, count })
            .ok_or_else(|| Error::Invalid(format!("--shard wants I/N with I < N, found '{s}'")))
    }

    /// The shard given, else Slurm's `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` when both
    /// are set, else none.
    pub fn resolve(given: Option<&str>) -> Result<Option<Shard>> {
        let from_slurm = || {
            let id = std::env::var("SLURM_ARRAY_TASK_ID").ok()?;
            let n = std::env::var("SLURM_ARRAY_TASK_COUNT").ok()?;
            Some(format!("{id}/{n}"))
        };
        given
            .map(str::to_string)
            .or_else(from_slurm)
            .map(|s| Shard::parse(&s))
            .transpose()
    }

    /// Where a run's rows go: `rows.csv`, or `rows-shard-I-of-N.csv` for a shard.
    pub fn rows_file(shard: Option<Shard>, out: &Path) -> PathBuf {
        match shard {
            Some(Shard { index, count }) => out.join(format!("rows-shard-{index}-of-{count}.csv")),
            None => out.join("rows.csv"),
        }
    }
}

/// A reproducible subset: a seeded shuffle, the first `limit`, then every `n`-th from `i` for
/// shard `i` of `n` (so the shards of one subset partition it).
pub fn select(
    mut items: Vec<Item>,
    limit: Option<usize>,
    seed: u64,
    shard: Option<Shard>,
) -> Vec<Item> {
    if limit.is_some() {
        let mut rng = crate::rng::SplitMix(seed);
        for i in (1..items.len()).rev() {
            items.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        items.truncate(limit.unwrap_or(usize::MAX));
    }
    match shard {
        Some(Shard { index: i, count: n }) if n > 1 => items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i)
            .map(|(_, it)| it)
            .collect(),
        _ => items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                file: PathBuf::from(format!("{i}.png")),
                id: format!("{i}.png"),
                label: vec![i],
            })
            .collect()
    }

    #[test]
    fn subsets_are_seeded_and_shards_partition_them() {
        let a = select(items(50), Some(20), 7, None);
        assert_eq!(a, select(items(50), Some(20), 7, None));
        assert_ne!(a, select(items(50), Some(20), 8, None));
        let mut shards: Vec<Item> = (0..3)
            .flat_map(|i| select(items(50), Some(20), 7, Some(Shard { index: i, count: 3 })))
            .collect();
        shards.sort_by(|x, y| x.id.cmp(&y.id));
        let mut whole = a.clone();
        whole.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(shards, whole);
    }

    #[test]
    fn shards_parse_and_name_their_rows() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for bad in ["3/3", "x/2", "2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Shard::rows_file(Some(Shard { index: 0, count: 2 }), Path::new("o")),
            Path::new("o/rows-shard-0-of-2.csv")
        );
        assert_eq!(
            Shard::rows_file(None, Path::new("o")),
            Path::new("o/rows.csv")
        );
    }

    #[test]
    fn groups_parse_ranges_and_lists() {
        assert_eq!(
            parse_group("cat=281-285").unwrap(),
            ("cat".into(), vec![281, 282, 283, 284, 285])
        );
        assert_eq!(parse_group("x=1,5").unwrap().1, vec![1, 5]);
        assert!(parse_group("cat").is_err());
    }
}
