//! Values between Rust and Python, written by hand for speed: building the dicts a sink
//! receives is the cost that bounds a Python sink's throughput, so keys are interned Python
//! strings reused across rows, and nothing goes through an intermediate representation.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use sinkbridge_engine::value::{ByPlace, Key, KeyCache, Map, Row, Value};

static DATETIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Converts values to Python objects, remembering the Python string of every key it saw.
///
/// Rows of one rule have the same keys in the same order, so a row's key is first compared
/// with the key at the same position of the row before (by address: one pointer comparison),
/// and only on a miss looked up by the address of its name. The cache holds a clone of each
/// key, so an address cannot be freed and reused for another key while it is cached.
#[derive(Default)]
pub struct ToPython {
    keys: HashMap<usize, (Key, Py<PyString>)>,
    /// The keys of the row before, by position.
    previous: ByPlace<Py<PyString>>,
}

impl ToPython {
    const MAX_KEYS: usize = 4096;

    /// The key at `position` of a row.
    #[inline]
    fn key_at<'py>(&mut self, py: Python<'py>, position: usize, key: &Key) -> Bound<'py, PyString> {
        if let Some(s) = self.previous.get(position, key) {
            return s.bind(py).clone();
        }
        let s = self.key(py, key);
        self.previous.remember(position, key, s.clone().unbind());
        s
    }

    fn key<'py>(&mut self, py: Python<'py>, key: &Key) -> Bound<'py, PyString> {
        let address = key.address();
        if let Some((_, s)) = self.keys.get(&address) {
            return s.bind(py).clone();
        }
        if self.keys.len() >= Self::MAX_KEYS {
            self.keys.clear();
        }
        let s = PyString::intern(py, key);
        self.keys.insert(address, (key.clone(), s.clone().unbind()));
        s
    }

    pub fn value<'py>(&mut self, py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => PyFloat::new(py, *f).into_any(),
            Value::String(s) => PyString::new(py, s).into_any(),
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
            Value::Datetime(dt) => {
                let fromtimestamp = DATETIME
                    .import(py, "datetime", "datetime")?
                    .getattr("fromtimestamp")?;
                let utc = UTC.import(py, "datetime", "timezone")?.getattr("utc")?;
                let seconds = dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_micros()) / 1e6;
                fromtimestamp.call1((seconds, utc))?
            }
            Value::Array(items) => {
                let converted = items
                    .iter()
                    .map(|item| self.value(py, item))
                    .collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, converted)?.into_any()
            }
            Value::Object(map) => self.row(py, map)?.into_any(),
        })
    }

    pub fn row<'py>(&mut self, py: Python<'py>, row: &Map) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (position, (k, v)) in row.iter().enumerate() {
            dict.set_item(self.key_at(py, position, k), self.value(py, v)?)?;
        }
        Ok(dict)
    }
}

/// Converts Python objects to values: dicts with string keys, lists and tuples, strings,
/// numbers, booleans, None, bytes and datetimes. Anything else is a `TypeError` naming it.
#[derive(Default)]
pub struct FromPython {
    keys: KeyCache,
}

impl FromPython {
    pub fn value(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
        if obj.is_none() {
            return Ok(Value::Null);
        }
        // bool before int: True is an int in Python.
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if let Ok(i) = obj.cast::<PyInt>() {
            return match i.extract::<i64>() {
                Ok(v) => Ok(Value::Int(v)),
                Err(_) => Err(PyOverflowError::new_err(format!(
                    "integer {i} does not fit in 64 bits"
                ))),
            };
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Value::Float(f.value()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::from(s.to_str()?));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Ok(Value::object(self.dict(d)?));
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let items = obj.try_iter()?.map(|item| self.value(&item?));
            return items.collect::<PyResult<Vec<_>>>().map(Value::array);
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Value::Bytes(Arc::from(b.as_bytes())));
        }
        let datetime = DATETIME.import(obj.py(), "datetime", "datetime")?;
        if obj.is_instance(datetime)? {
            let seconds: f64 = obj.call_method0("timestamp")?.extract()?;
            let value = Value::Int((seconds * 1000.0).round() as i64);
            return sinkbridge_engine::value::convert::to_datetime(&value)
                .map_err(PyTypeError::new_err);
        }
        Err(PyTypeError::new_err(format!(
            "cannot convert a {} to a sinkbridge value; use dicts, lists, str, int, float, bool, None, bytes or datetime",
            obj.get_type().name()?
        )))
    }

    pub fn dict(&mut self, d: &Bound<'_, PyDict>) -> PyResult<Map> {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "dict keys must be strings, found {}",
                    k.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
            map.insert(self.keys.intern(key.to_str()?), self.value(&v)?);
        }
        Ok(map)
    }

    /// A row (a dict) or rows (a list or tuple of dicts).
    pub fn rows(&mut self, data: &Bound<'_, PyAny>) -> PyResult<Vec<Row>> {
        if let Ok(d) = data.cast::<PyDict>() {
            return Ok(vec![self.dict(d)?]);
        }
        let items: Vec<Bound<'_, PyAny>> =
            if data.is_instance_of::<PyList>() || data.is_instance_of::<PyTuple>() {
                data.try_iter()?.collect::<PyResult<_>>()?
            } else {
                return Err(PyTypeError::new_err(format!(
                    "publish takes a dict or a list of dicts, found {}",
                    data.get_type().name()?
                )));
            };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let d = item.cast::<PyDict>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "publish takes a dict or a list of dicts; item {i} is a {}",
                        item.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })?;
                self.dict(d)
            })
            .collect()
    }
}
